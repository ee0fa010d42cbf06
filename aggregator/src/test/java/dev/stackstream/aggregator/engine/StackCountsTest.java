package dev.stackstream.aggregator.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class StackCountsTest {

    @Test
    void mergesAndRoundTrips() {
        StackCounts a = new StackCounts();
        a.add(1, 2, "main", 5, -1);
        a.add(1, 2, null, 3, 100);
        a.addWindow(1, 0, 2, 0, 1_000, 4096, -1);
        StackCounts b = new StackCounts();
        b.add(1, 2, "main", 7, -1);
        b.add(-9, Long.MIN_VALUE, "worker-1", 1, -1);
        b.addWindow(0, 3, 0, 1, -1, 8192, 50);
        a.merge(StackCounts.decode(b.encode()), null);
        StackCounts c = StackCounts.decode(a.encode());
        assertEquals(16, c.total());
        assertEquals(12, c.entries().get(new StackCounts.Key(1, 2, "main"))[0]);
        assertEquals(100, c.entries().get(new StackCounts.Key(1, 2, null))[1]);
        assertEquals(2, c.windows());
        assertEquals(1, c.stats().lost());
        assertEquals(3, c.stats().throttled());
        assertEquals(1000, c.stats().targetCpuNanos().getAsLong());
        assertEquals(8192, c.stats().targetMaxRssBytes().getAsLong());
        assertEquals(50, c.stats().instructions().getAsLong());
        assertEquals(13, c.total(t -> t != null && t.startsWith("m") || t != null && t.startsWith("w")));
    }

    @Test
    void corruptBytesAreAClearError() {
        StackCounts a = new StackCounts();
        a.add(1, 2, "main", 5, -1);
        byte[] bytes = a.encode();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> StackCounts.decode(Arrays.copyOf(bytes, bytes.length - 3)));
        assertTrue(e.getMessage().contains("corrupt bucket"), e.getMessage());
    }

    @Test
    void sumsSaturateAtLongMaxValueThroughAddMergeAndTheStoredForm() {
        StackCounts a = new StackCounts();
        a.add(1, 2, null, Long.MAX_VALUE / 2 + 1, Long.MAX_VALUE);
        a.add(1, 2, null, Long.MAX_VALUE / 2 + 1, 5);
        assertEquals(Long.MAX_VALUE, a.total());
        assertEquals(Long.MAX_VALUE, a.entries().get(new StackCounts.Key(1, 2, null))[1]);
        StackCounts b = StackCounts.decode(a.encode());
        b.merge(a, null);
        b.mergeEncoded(a.encode(), null);
        assertEquals(Long.MAX_VALUE, b.total());
        assertEquals(Long.MAX_VALUE, StackCounts.decode(b.encode()).total());
    }

    @Test
    void foldingKeepsTheLargestEntriesAndTheTotal() {
        StackCounts a = new StackCounts();
        for (int i = 1; i <= 10; i++) {
            a.add(0, 100 + i, "t", i, i * 10L);
        }
        assertEquals(0, a.foldSmallest(10));
        assertEquals(7, a.foldSmallest(4));     // keeps 10, 9, 8 and [other] = 1 + ... + 7
        assertEquals(4, a.entries().size());
        assertEquals(55, a.total());
        long[] other = a.entries().get(new StackCounts.Key(StackCounts.OTHER_HIGH, StackCounts.OTHER_LOW, null));
        assertEquals(28, other[0]);
        assertEquals(280, other[1]);
        assertTrue(a.entries().containsKey(new StackCounts.Key(0, 108, "t")));
        // Folding again adds to the existing [other] entry instead of making a second one.
        a.add(0, 200, "t", 1, -1);
        assertEquals(1, a.foldSmallest(4));
        assertEquals(29, a.entries().get(new StackCounts.Key(StackCounts.OTHER_HIGH, StackCounts.OTHER_LOW, null))[0]);
        assertEquals(56, a.total());
    }

    @Test
    void foldingToABytesBoundKeepsTheLargestEntriesAndTheTotal() {
        StackCounts c = new StackCounts();
        // Long thread names: 400 entries of ~220 stored bytes each, far more than the bound.
        for (int i = 0; i < 400; i++) {
            c.add(7, i, "worker-" + "x".repeat(200) + i, 1000L + i, 5L * i);
        }
        c.addWindow(1, 2, 3, 4, Long.MAX_VALUE / 2, 1L << 40, Long.MAX_VALUE / 3);
        long total = c.total();
        int folded = c.foldToFit(20_000, 4096);
        byte[] stored = c.encode();
        assertTrue(stored.length <= 4096, "stored " + stored.length + " bytes");
        assertTrue(stored.length > 3000, "the bound is used, not wasted: " + stored.length);
        assertEquals(400 - (c.entries().size() - 1), folded, "every entry but the kept ones folded");
        StackCounts back = StackCounts.decode(stored);
        assertEquals(total, back.total(), "the folded entries still count");
        assertEquals(1399L, back.entries().get(new StackCounts.Key(7, 399, "worker-" + "x".repeat(200) + 399))[0],
                "the largest entry kept");
        assertEquals(0, c.foldToFit(20_000, 4096), "within the bound now: nothing more folded");
    }

    @Test
    void aBucketWithinBothBoundsIsLeftAlone() {
        StackCounts c = new StackCounts();
        c.add(1, 2, "main", 5, -1);
        c.add(1, 3, null, 6, -1);
        assertEquals(0, c.foldToFit(2, 1024));
        assertEquals(2, c.entries().size());
    }
}
