package dev.stackstream.aggregator.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SequenceTrackerTest {

    @Test
    void inOrderWindowsFoldIntoTheWatermarkAndReplaysAreRefused() {
        SequenceTracker t = new SequenceTracker();
        for (long s = 0; s < 100; s++) {
            assertTrue(t.accept(s, 1));
        }
        assertEquals(99, t.watermark());
        assertEquals(0, t.ranges());
        assertFalse(t.accept(0, 2));
        assertFalse(t.accept(99, 2));
        assertTrue(t.accept(100, 2));
    }

    @Test
    void gapsAndLateWindowsAreTrackedExactly() {
        SequenceTracker t = new SequenceTracker();
        assertTrue(t.accept(5, 1));     // 0..4 not yet seen (dropped or late)
        assertTrue(t.accept(7, 1));
        assertEquals(-1, t.watermark());
        assertEquals(2, t.ranges());
        assertTrue(t.accept(6, 1));
        assertEquals(1, t.ranges());
        for (long s = 0; s < 5; s++) {
            assertTrue(t.accept(s, 1));
        }
        assertEquals(7, t.watermark());
        assertEquals(0, t.ranges());
        assertFalse(t.accept(6, 1));
    }

    @Test
    void survivesEncodingAndMatchesASetUnderRandomOrderWithRepeats() {
        Random r = new Random(1);
        SequenceTracker t = new SequenceTracker();
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 5000; i++) {
            long seq = Math.max(0, i / 3 + r.nextInt(20) - 10);
            boolean fresh = seen.add(seq);
            assertEquals(fresh, t.accept(seq, i), "seq " + seq);
            t = SequenceTracker.decode(t.encode());
        }
    }

    @Test
    void tooManyGapsGiveUpTheOldestButNeverCountTwice() {
        SequenceTracker t = new SequenceTracker();
        for (long s = 1; s < 2 * (SequenceTracker.MAX_RANGES + 10); s += 2) {
            assertTrue(t.accept(s, 1));
        }
        assertTrue(t.ranges() <= SequenceTracker.MAX_RANGES);
        assertFalse(t.accept(0, 1), "a given-up gap is treated as seen");
        assertFalse(t.accept(1, 1));
    }
}
