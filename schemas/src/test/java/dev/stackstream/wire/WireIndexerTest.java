package dev.stackstream.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.Stack;
import org.junit.jupiter.api.Test;

class WireIndexerTest {
    private static final Instant T0 = Instant.parse("2026-11-26T12:00:00Z");

    /** Window n: stacks 0..(n % 5 + 2), counts n + i + 1, thread worker-1 on even stacks. */
    static Profile window(int n) {
        ProfileBuilder b = Profile.builder(dev.stackstream.profile.ProfileType.cpu(99))
                .timeRange(T0.plusSeconds(10L * n), T0.plusSeconds(10L * n + 10));
        for (int i = 0; i < n % 5 + 3; i++) {
            b.add(Stack.of(Frame.named("main", FrameKind.USER), Frame.named("handle_" + i, FrameKind.USER)),
                    i % 2 == 0 ? "worker-1" : null, n + i + 1);
        }
        return b.build();
    }

    static SampleBatch batch(int n, String collector) {
        return WireModel.toBatch(window(n), "svc", Map.of(), collector, n);
    }

    static Set<Integer> bound(SampleBatch b) {
        return b.getNewStacks().stream().map(StackIndexDefinition::getIndex).collect(Collectors.toSet());
    }

    static Set<Integer> used(SampleBatch b) {
        return PackedEntries.of(b).stream().map(IndexedStackCount::getStackIndex).collect(Collectors.toSet());
    }

    @Test
    void aBindingTravelsUntilAWindowCarryingItIsAcknowledgedThenNeverAgain() {
        WireIndexer indexer = new WireIndexer(1000, 100);
        SampleBatch w0 = batch(0, "c");                     // stacks 0..2
        WireIndexer.Carried b0 = indexer.compact(w0);
        assertEquals(Set.of(0, 1, 2), bound(w0));
        assertEquals(Set.of(0), w0.getNewThreads().stream().map(t -> t.getIndex()).collect(Collectors.toSet()));
        assertTrue(w0.getEntries().isEmpty(), "no v1 entries in the compact form");

        SampleBatch w1 = batch(1, "c");                     // stacks 0..3, w0 not acknowledged yet
        WireIndexer.Carried b1 = indexer.compact(w1);
        assertEquals(Set.of(0, 1, 2, 3), bound(w1), "unacknowledged bindings are repeated");

        indexer.acknowledged("c", b0);
        indexer.acknowledged("c", b1);
        SampleBatch w4 = batch(4, "c");                     // stacks 0..6
        indexer.compact(w4);
        assertEquals(Set.of(4, 5, 6), bound(w4), "only the new stacks are bound");
        assertTrue(w4.getNewThreads().isEmpty());
        assertEquals(Set.of(0, 1, 2, 3, 4, 5, 6), used(w4));
    }

    @Test
    void theContextTravelsUntilAcknowledgedThenEverySixtiethWindowAndWhenItChanges() {
        WireIndexer indexer = new WireIndexer(1000, 100);
        SampleBatch w0 = WireModel.toBatch(window(0), "svc",
                Map.of("pod", "p-1"), "c", 0);
        WireIndexer.Carried b0 = indexer.compact(w0);
        assertTrue(!w0.getContextOmitted() && w0.getService().equals("svc"), "the first window carries it");
        SampleBatch w1 = WireModel.toBatch(window(1), "svc",
                Map.of("pod", "p-1"), "c", 1);
        indexer.compact(w1);
        assertTrue(!w1.getContextOmitted(), "repeated while no window carrying it is acknowledged");

        indexer.acknowledged("c", b0);
        Bindings reader = new InMemoryBindings();
        BindingResolver.restoreContext(w0, reader);
        BindingResolver.restoreContext(w1, reader);
        int carried = 0;
        for (int n = 2; n < 2 + 2 * WireIndexer.CONTEXT_EVERY; n++) {
            SampleBatch w = WireModel.toBatch(window(n % 3), "svc",
                    Map.of("pod", "p-1"), "c", n);
            indexer.acknowledged("c", indexer.compact(w));
            if (!w.getContextOmitted()) {
                carried++;
            } else {
                assertEquals("", w.getService());
                assertTrue(w.getLabels().isEmpty());
                assertEquals(0L, w.getProfileType().getPeriod());
            }
            BindingResolver.restoreContext(w, reader);
            assertEquals("svc", w.getService(), "a reader of every window knows the service of window " + n);
            assertEquals(Map.of("pod", "p-1"), w.getLabels());
            assertEquals("cpu", w.getProfileType().getName());
        }
        assertEquals(2, carried, "carried again once every " + WireIndexer.CONTEXT_EVERY + " windows");

        SampleBatch relabelled = WireModel.toBatch(window(0), "svc",
                Map.of("pod", "p-2"), "c", 500);
        indexer.compact(relabelled);
        assertTrue(!relabelled.getContextOmitted(), "a changed context is carried");
    }

    @Test
    void theBindingsOfADroppedWindowTravelInTheNextWindowThatUsesThem() {
        WireIndexer indexer = new WireIndexer(1000, 100);
        SampleBatch w0 = batch(0, "c");
        indexer.acknowledged("c", indexer.compact(w0));       // delivered: stacks 0..2 bound downstream
        SampleBatch w4 = batch(4, "c");
        indexer.compact(w4);                                    // binds 3..6, then the buffer drops it
        SampleBatch w5 = batch(5, "c");                         // stacks 0..2 only
        indexer.acknowledged("c", indexer.compact(w5));
        assertTrue(bound(w5).isEmpty());
        SampleBatch w9 = batch(9, "c");                         // stacks 0..6 again
        indexer.compact(w9);
        assertEquals(Set.of(3, 4, 5, 6), bound(w9), "the dropped window's bindings are carried forward");

        // A reader that never saw w4 resolves every entry of w0, w5, w9.
        Bindings reader = new InMemoryBindings();
        for (SampleBatch b : List.of(w0, w5, w9)) {
            List<IndexedStackCount> packed = PackedEntries.of(b);   // compact only: one call per packed entry
            int[] next = {0};
            int unbound = BindingResolver.forEachEntry(b, reader, (id, thread, count, instr) -> {
                int threadIndex = packed.get(next[0]++).getThreadIndex();
                assertTrue(threadIndex < 0 || thread != null, "thread index " + threadIndex + " bound");
            });
            assertEquals(packed.size(), next[0]);
            assertEquals(0, unbound, "every stack index of window " + b.getSequence() + " bound");
        }
    }

    @Test
    void aForgottenIndexIsReusedWithANewBindingAndReadersFollowIt() throws Exception {
        WireIndexer indexer = new WireIndexer(4, 100);          // room for 4 stacks only
        Bindings reader = new InMemoryBindings();
        Map<String, Long> expected = new HashMap<>();
        Map<String, Long> resolved = new HashMap<>();
        int largestWindow = 0;
        for (int n = 0; n < 12; n++) {
            SampleBatch original = batch(n, "c");
            original.getEntries().forEach(e -> expected.merge(WireModel.fromWire(e.getStackId()).toHex(),
                    e.getCount(), Long::sum));
            SampleBatch b = batch(n, "c");
            indexer.acknowledged("c", indexer.compact(b));
            largestWindow = Math.max(largestWindow, original.getEntries().size());
            assertTrue(indexer.stackBindings() <= Math.max(4, largestWindow),
                    "bounded, except for what one window needs: " + indexer.stackBindings());
            SampleBatch decoded = WireCodec.decodeSampleBatch(WireCodec.encode(b));
            BindingResolver.forEachEntry(decoded, reader, (id, thread, count, instr) ->
                    resolved.merge(id.toHex(), count, Long::sum));
        }
        assertEquals(expected, resolved, "every count lands on its own stack despite index reuse");
    }

    @Test
    void anotherCollectorIdStartsFromIndexZeroAndIgnoresStaleAcknowledgements() {
        WireIndexer indexer = new WireIndexer(1000, 100);
        WireIndexer.Carried a = indexer.compact(batch(0, "run-a"));
        SampleBatch b0 = batch(0, "run-b");
        indexer.compact(b0);
        indexer.acknowledged("run-a", a);
        assertEquals(Set.of(0, 1, 2), bound(b0));
        SampleBatch b1 = batch(0, "run-b");
        indexer.compact(b1);
        assertEquals(Set.of(0, 1, 2), bound(b1), "run-a's acknowledgement says nothing about run-b");
    }

    @Test
    void anEncodedWindowReadsBackWithItsCountsThreadsAndContext() throws Exception {
        WireIndexer indexer = new WireIndexer(1000, 100);
        Bindings reader = new InMemoryBindings();
        for (int n = 0; n < 3; n++) {
            WireIndexer.Encoded encoded = indexer.encode(window(n), "svc", Map.of("pod", "p-1"), "c", n);
            indexer.acknowledged("c", encoded.carried());
            WireWindow read = WireWindow.decode(encoded.value());
            assertEquals(n > 0, read.contextOmitted(), "left out once acknowledged");
            assertTrue(read.restoreContext(reader));
            assertEquals(new WindowContext("svc", Map.of("pod", "p-1"), "cpu", "nanoseconds",
                    window(n).type().period()), read.context());
            Map<String, Long> expected = new HashMap<>();
            for (Sample x : window(n).samples()) {
                expected.merge(x.stack().id().toHex() + "@" + x.thread(), x.count(), Long::sum);
            }
            Map<String, Long> resolved = new HashMap<>();
            assertEquals(0, read.forEachEntry(reader, (id, thread, count, instr) ->
                    resolved.merge(id.toHex() + "@" + thread, count, Long::sum)));
            assertEquals(expected, resolved, "window " + n);
        }
    }

    /** Window n of the given profile type, as a sidecar sampling several types of one target cuts them. */
    private static Profile windowOf(dev.stackstream.profile.ProfileType type, int n) {
        return Profile.builder(type).timeRange(T0.plusSeconds(n), T0.plusSeconds(n + 1))
                .add(Stack.of(Frame.named("main", FrameKind.USER), Frame.named("doze", FrameKind.USER)), null, n + 1)
                .build();
    }

    @Test
    void interleavedTypesOfOneRunAreReadEachUnderItsOwnType() throws Exception {
        // cpu, wall and offcpu windows of one collector run in turn, cut at the same moment each
        // second and acknowledged after the three were indexed: the reader must file every window
        // under the type it was cut for (leaving offcpu's context out because the offcpu window
        // before was acknowledged filed it under wall, indexed in between).
        List<dev.stackstream.profile.ProfileType> types = List.of(dev.stackstream.profile.ProfileType.cpu(999),
                dev.stackstream.profile.ProfileType.wall(999), dev.stackstream.profile.ProfileType.offCpu());
        WireIndexer indexer = new WireIndexer(1000, 100);
        Bindings reader = new InMemoryBindings();
        int n = 0;
        for (int round = 0; round < 10; round++) {
            List<WireIndexer.Carried> pending = new java.util.ArrayList<>();
            for (dev.stackstream.profile.ProfileType type : types) {
                WireIndexer.Encoded encoded = indexer.encode(windowOf(type, n), "svc", Map.of(), "c", n);
                pending.add(encoded.carried());
                WireWindow read = WireWindow.decode(encoded.value());
                assertTrue(read.restoreContext(reader));
                assertEquals(type.name(), read.context().typeName(), "window " + n + " (" + type.name() + ")");
                n++;
            }
            pending.forEach(c -> indexer.acknowledged("c", c));
        }
        WireIndexer.Carried inFlight = null;
        // One type for a while after that: the context is left out again once only it is pending.
        int omitted = 0;
        for (; n < 40; n++) {
            WireIndexer.Encoded encoded = indexer.encode(windowOf(types.get(1), n), "svc", Map.of(), "c", n);
            if (inFlight != null) {
                indexer.acknowledged("c", inFlight);
            }
            inFlight = encoded.carried();
            WireWindow read = WireWindow.decode(encoded.value());
            omitted += read.contextOmitted() ? 1 : 0;
            assertTrue(read.restoreContext(reader));
            assertEquals("wall", read.context().typeName(), "window " + n);
        }
        assertEquals(8, omitted, "every wall window indexed after the first one was acknowledged leaves the context out");
    }

    @Test
    void aDroppedWindowOfAnotherTypeDoesNotLeaveTheReaderWithTheWrongContext() throws Exception {
        var cpu = dev.stackstream.profile.ProfileType.cpu(999);
        var wall = dev.stackstream.profile.ProfileType.wall(999);
        WireIndexer indexer = new WireIndexer(1000, 100);
        Bindings reader = new InMemoryBindings();
        WireIndexer.Encoded w0 = indexer.encode(windowOf(cpu, 0), "svc", Map.of(), "c", 0);
        indexer.acknowledged("c", w0.carried());
        assertTrue(WireWindow.decode(w0.value()).restoreContext(reader));
        WireIndexer.Encoded w1 = indexer.encode(windowOf(wall, 1), "svc", Map.of(), "c", 1);  // delivered
        WireIndexer.Encoded w2 = indexer.encode(windowOf(cpu, 2), "svc", Map.of(), "c", 2);   // dropped later
        WireIndexer.Encoded w3 = indexer.encode(windowOf(cpu, 3), "svc", Map.of(), "c", 3);
        assertTrue(WireWindow.decode(w1.value()).restoreContext(reader));
        indexer.acknowledged("c", w1.carried());
        WireWindow read3 = WireWindow.decode(w3.value());
        assertTrue(read3.restoreContext(reader));
        assertEquals("cpu", read3.context().typeName(), "w3 is read right after w1 (w2 was dropped)");
    }
}
