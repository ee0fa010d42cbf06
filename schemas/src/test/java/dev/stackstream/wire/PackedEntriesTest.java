package dev.stackstream.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class PackedEntriesTest {

    @Test
    void roundTripsEntriesSortedWithOptionalThreadAndInstructions() throws Exception {
        Random random = new Random(3);
        List<IndexedStackCount> entries = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            entries.add(new IndexedStackCount(random.nextInt(1 << 20), 1 + random.nextInt(5000),
                    random.nextBoolean() ? -1 : random.nextInt(300), random.nextBoolean() ? -1 : random.nextLong(1L << 40)));
        }
        entries.add(new IndexedStackCount(Integer.MAX_VALUE, Long.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE));
        entries.add(new IndexedStackCount(0, 0, -1, -1));
        List<IndexedStackCount> decoded = PackedEntries.decode(ByteBuffer.wrap(PackedEntries.encode(entries)));
        List<IndexedStackCount> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingInt(IndexedStackCount::stackIndex).thenComparingInt(IndexedStackCount::threadIndex));
        assertEquals(sorted, decoded);
    }

    @Test
    void theCommonEntryTakesTwoBytes() {
        // No thread, no PMU, neighbouring stacks, small counts: delta and count, one byte each.
        List<IndexedStackCount> entries = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            entries.add(new IndexedStackCount(1000 + 3 * i, 1 + i % 50, -1, -1));
        }
        assertEquals(2 * 100 + 1, PackedEntries.encode(entries).length, "first delta 1000 takes two bytes");
    }

    @Test
    void aCorruptBlockIsRefusedWithAReasonAndTheCodecRefusesItsBatch() {
        byte[] good = PackedEntries.encode(List.of(new IndexedStackCount(5, 300, 2, 7)));
        byte[] cut = Arrays.copyOf(good, good.length - 1);
        WireFormatException e = assertThrows(WireFormatException.class, () -> PackedEntries.decode(ByteBuffer.wrap(cut)));
        assertTrue(e.getMessage().contains("cut off"), e.getMessage());
        byte[] endless = new byte[12];
        Arrays.fill(endless, (byte) 0xFF);
        assertTrue(assertThrows(WireFormatException.class, () -> PackedEntries.decode(ByteBuffer.wrap(endless)))
                .getMessage().contains("longer than 10 bytes"));

        SampleBatch batch = WireCodecTest.batch();
        batch.setPackedEntries(ByteBuffer.wrap(cut));
        byte[] bytes = WireCodec.encode(batch);
        WireFormatException refused = assertThrows(WireFormatException.class, () -> WireCodec.decodeSampleBatch(bytes));
        assertTrue(refused.getMessage().startsWith("truncated or corrupt SampleBatch v4 body"), refused.getMessage());
    }
}
