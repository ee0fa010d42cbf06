package dev.stackstream.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BindingResolverTest {

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
        Bindings index = new InMemoryBindings();
        SampleBatch first = WireCodecTest.batch();
        assertTrue(BindingResolver.restoreContext(first, index));
        // through the wire, as a reader meets it
        SampleBatch second = WireCodec.decodeSampleBatch(WireCodec.encode(omitting(18)));
        assertTrue(second.getContextOmitted());
        assertTrue(BindingResolver.restoreContext(second, index));
        assertTrue(BindingResolver.contextKnown(second));
        assertEquals("checkout", second.getService());
        assertEquals(Map.of("pod", "checkout-7f9c", "node", "n1"), second.getLabels());
        assertEquals(new ProfileType("cpu", "nanoseconds", 10_101_010L), second.getProfileType());

        SampleBatch relabelled = WireCodecTest.batch();
        relabelled.setLabels(Map.of("pod", "checkout-8a1d"));
        BindingResolver.restoreContext(relabelled, index);
        SampleBatch third = omitting(20);
        BindingResolver.restoreContext(third, index);
        assertEquals(Map.of("pod", "checkout-8a1d"), third.getLabels(), "the latest carried context wins");
    }

    @Test
    void aReaderThatMissedEveryCarryingWindowKnowsItDoesNotKnow() {
        SampleBatch b = omitting(5);
        assertFalse(BindingResolver.restoreContext(b, new InMemoryBindings()));
        assertFalse(BindingResolver.contextKnown(b));
        assertEquals("", b.getService());
    }

    @Test
    void olderBatchesCarryTheirContext() throws Exception {
        SampleBatch v1Style = WireCodecTest.batch();
        assertFalse(v1Style.getContextOmitted(), "the default: carried");
        assertTrue(BindingResolver.restoreContext(v1Style, new InMemoryBindings()));
        assertTrue(BindingResolver.contextKnown(v1Style));
    }

    @Test
    void bindingsApplyBeforeTheirWindowsEntriesAndALaterBindingReplacesTheEarlierOne() {
        dev.stackstream.profile.StackId a = new dev.stackstream.profile.StackId(1, 2);
        dev.stackstream.profile.StackId b = new dev.stackstream.profile.StackId(3, 4);
        Bindings bindings = new InMemoryBindings();
        SampleBatch first = WireCodecTest.batch();
        first.setEntries(List.of());
        first.setNewStacks(List.of(new StackIndexDefinition(0, WireModel.toWire(a))));
        first.setNewThreads(List.of(new ThreadIndexDefinition(0, "main")));
        PackedEntries.set(first, List.of(new IndexedStackCount(0, 5L, 0, -1L),
                new IndexedStackCount(1, 7L, 1, 3L)));
        java.util.List<String> seen = new ArrayList<>();
        int unbound = BindingResolver.forEachEntry(first, bindings,
                (id, thread, count, instr) -> seen.add(id.toHex() + "/" + thread + "/" + count + "/" + instr));
        assertEquals(1, unbound, "index 1 was never bound");
        assertEquals(List.of(a.toHex() + "/main/5/-1", WireModel.UNBOUND_STACK.toHex() + "/null/7/3"), seen);

        SampleBatch second = WireCodecTest.batch();
        second.setEntries(List.of());
        second.setNewStacks(List.of(new StackIndexDefinition(0, WireModel.toWire(b))));
        PackedEntries.set(second, List.of(new IndexedStackCount(0, 1L, -1, -1L)));
        seen.clear();
        assertEquals(0, BindingResolver.forEachEntry(second, bindings,
                (id, thread, count, instr) -> seen.add(id.toHex() + "/" + thread)));
        assertEquals(List.of(b.toHex() + "/null"), seen, "rebound from this window on");
    }
}
