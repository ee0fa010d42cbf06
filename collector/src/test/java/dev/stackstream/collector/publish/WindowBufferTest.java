package dev.stackstream.collector.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Map;

import dev.stackstream.wire.WireIndexer;
import org.junit.jupiter.api.Test;

class WindowBufferTest {

    static PendingWindow window(long seq, int bytes) {
        return new PendingWindow(seq, new byte[0], new byte[bytes], Map.of(), Instant.EPOCH, "c",
                WireIndexer.Carried.NONE);
    }

    @Test
    void keepsOrderAndDropsTheOldestBeyondTheBound() {
        WindowBuffer b = new WindowBuffer(3000);
        for (int i = 0; i < 3; i++) {
            assertEquals(WindowBuffer.Dropped.NONE, b.add(window(i, 1000)));
        }
        WindowBuffer.Dropped d = b.add(window(3, 1500));
        assertEquals(new WindowBuffer.Dropped(2, 2000), d, "two oldest make room for 1500 bytes");
        assertEquals(2500, b.bytes());
        assertEquals(2, b.startDelivery().sequence());
    }

    @Test
    void neverDropsTheWindowBeingDelivered() {
        WindowBuffer b = new WindowBuffer(2000);
        b.add(window(0, 1000));
        b.add(window(1, 1000));
        PendingWindow head = b.startDelivery();
        WindowBuffer.Dropped d = b.add(window(2, 1000));
        assertEquals(new WindowBuffer.Dropped(1, 1000), d);
        assertSame(head, b.startDelivery(), "head kept while in flight");
        b.failed(head);
        assertEquals(0, b.startDelivery().sequence(), "a failed window is retried first");
        b.delivered(head);
        assertEquals(2, b.startDelivery().sequence(), "window 1 was dropped, 2 follows 0");
        assertEquals(1000, b.bytes());
    }

    @Test
    void aWindowLargerThanTheWholeBoundIsDroppedOnArrival() {
        WindowBuffer b = new WindowBuffer(1000);
        b.add(window(0, 500));
        assertEquals(new WindowBuffer.Dropped(1, 1001), b.add(window(1, 1001)));
        assertEquals(1, b.size());
        assertTrue(b.bytes() <= b.capacity());
    }

    @Test
    void definitionTrackerSendsFirstUseAndAfterTheRefreshInterval() {
        DefinitionTracker t = new DefinitionTracker(java.time.Duration.ofHours(1), 2);
        var a = SyntheticWindows.stack(1).id();
        var b = SyntheticWindows.stack(2).id();
        var c = SyntheticWindows.stack(3).id();
        Instant now = Instant.parse("2026-11-26T00:00:00Z");
        assertTrue(t.needsDefinition(a, now));
        t.sent(a, now);
        assertTrue(!t.needsDefinition(a, now.plusSeconds(3599)));
        assertTrue(t.needsDefinition(a, now.plusSeconds(3600)));
        t.sent(b, now);
        t.sent(c, now);
        assertEquals(2, t.size(), "bounded");
        assertTrue(t.needsDefinition(a, now), "the least recently used id was forgotten");
    }
}
