package dev.stackstream.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class CollectorIndexTest {

    private static SampleBatch omitting(long sequence) {
        SampleBatch b = WireCodecTest.batch();
        b.setSequence(sequence);
        b.setContextOmitted(true);
        b.setService("");
        b.setLabels(Map.of());
        b.setProfileType(new ProfileType("", "", 0L));
        return b;
    }

    @Test
    void windowsThatLeaveOutTheContextGetTheLatestCarriedOne() throws Exception {
        CollectorIndex index = new CollectorIndex();
        SampleBatch first = WireCodecTest.batch();
        index.apply(first);
        // through the wire, as a reader meets it
        SampleBatch second = WireCodec.decodeSampleBatch(WireCodec.encode(omitting(18)));
        assertTrue(second.getContextOmitted());
        index.apply(second);
        assertTrue(CollectorIndex.contextKnown(second));
        assertEquals("checkout", second.getService());
        assertEquals(Map.of("pod", "checkout-7f9c", "node", "n1"), second.getLabels());
        assertEquals(new ProfileType("cpu", "nanoseconds", 10_101_010L), second.getProfileType());

        SampleBatch relabelled = WireCodecTest.batch();
        relabelled.setLabels(Map.of("pod", "checkout-8a1d"));
        index.apply(relabelled);
        SampleBatch third = omitting(20);
        index.apply(third);
        assertEquals(Map.of("pod", "checkout-8a1d"), third.getLabels(), "the latest carried context wins");
    }

    @Test
    void aReaderThatMissedEveryCarryingWindowKnowsItDoesNotKnow() {
        SampleBatch b = omitting(5);
        new CollectorIndex().apply(b);
        assertFalse(CollectorIndex.contextKnown(b));
        assertEquals("", b.getService());
    }

    @Test
    void olderBatchesCarryTheirContext() throws Exception {
        SampleBatch v1Style = WireCodecTest.batch();
        assertFalse(v1Style.getContextOmitted(), "the default: carried");
        new CollectorIndex().apply(v1Style);
        assertTrue(CollectorIndex.contextKnown(v1Style));
    }
}
