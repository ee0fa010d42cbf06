package dev.stackstream.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileStats;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.Stack;
import dev.stackstream.profile.Unwinding;
import org.apache.avro.Schema;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.junit.jupiter.api.Test;

class WireModelTest {
    static final Stack AB = Stack.of(
            new Frame("main", "/opt/app/calltree", "0a1b2c", 0x1140, FrameKind.USER, "calltree.c", 40),
            new Frame("a", "/opt/app/calltree", "0a1b2c", 0x1180, FrameKind.USER, null, 0),
            Frame.unresolved("/usr/lib/x86_64-linux-gnu/libc.so.6", null, 0x2a0f0, FrameKind.USER),
            new Frame("asm_sysvec_apic_timer_interrupt", "[kernel.kallsyms]", null, 0xffffffff81e00e20L,
                    FrameKind.KERNEL, null, 0));
    static final Stack C = new Stack(List.of(Frame.named("main", FrameKind.USER),
            new Frame("Interpreter::run", "/tmp/perf-42.map", null, 0x7f0010, FrameKind.JIT, null, 0)), true);

    static Profile window() {
        return Profile.builder(ProfileType.cpu(99))
                .timeRange(Instant.parse("2026-11-26T10:00:00.123Z"), Instant.parse("2026-11-26T10:00:10.123Z"))
                .add(AB, "worker-1", 700, -1)
                .add(C, "worker-2", 300, 12_345)
                .stats(new ProfileStats(3, 1, 0, 300, OptionalLong.of(9_900_000_000L), OptionalLong.of(50_000_000L),
                        OptionalLong.empty()))
                .build();
    }

    @Test
    void aWindowSurvivesBatchEncodingAndDecoding() throws Exception {
        SampleBatch batch = WireModel.toBatch(window(), "checkout", Map.of("pod", "p-1", "service", "ignored"),
                "collector-1", 5);
        assertEquals(Map.of("pod", "p-1"), batch.getLabels(), "service travels in its own field");
        assertNull(batch.getEntries().get(0).getInstructions(), "not measured stays null, not 0");
        SampleBatch decoded = WireCodec.decodeSampleBatch(WireCodec.encode(batch));

        Map<dev.stackstream.profile.StackId, Stack> dictionary = new HashMap<>();
        for (Stack s : List.of(AB, C)) {
            Stack back = WireModel.fromDefinition(
                    WireCodec.decodeStackDefinition(WireCodec.encode(WireModel.toDefinition(s))));
            assertEquals(s, back);
            assertEquals(s.id(), back.id());
            dictionary.put(back.id(), back);
        }
        Profile p = WireModel.toProfile(decoded, dictionary::get);
        Profile w = window();
        assertEquals(w.type(), p.type());
        assertEquals(w.start(), p.start());
        assertEquals(w.end(), p.end());
        assertEquals(w.stats(), p.stats());
        assertEquals(Map.of("pod", "p-1", "service", "checkout"), p.labels());
        assertEquals(w.samples(), p.samples());
        assertEquals(1000, p.totalCount());
    }

    @Test
    void aMissingDefinitionGivesAnUnknownStackNotALostCount() {
        SampleBatch batch = WireModel.toBatch(window(), "svc", Map.of(), "c", 0);
        Profile p = WireModel.toProfile(batch, id -> null);
        assertEquals(1000, p.totalCount());
        Sample first = p.samples().get(0);
        assertEquals("[unknown stack " + AB.id().toHex() + "]", first.stack().collapsed());
    }

    @Test
    void aDefinitionWhoseIdDoesNotMatchItsFramesIsRefused() {
        StackDefinition d = WireModel.toDefinition(AB);
        d.setStackId(WireModel.toWire(C.id()));
        WireFormatException e = assertThrows(WireFormatException.class, () -> WireModel.fromDefinition(d));
        assertTrue(e.getMessage().contains("does not match its frames"), e.getMessage());
    }

    @Test
    void compactBatchesResolveThroughBindingsOfEarlierWindowsAndMixWithV1Entries() throws Exception {
        Map<dev.stackstream.profile.StackId, Stack> dictionary = Map.of(AB.id(), AB, C.id(), C);
        SampleBatch first = WireModel.toBatch(window(), "svc", Map.of(), "c", 0);
        first.setEntries(List.of());
        first.setNewStacks(List.of(new StackIndexDefinition(0, WireModel.toWire(AB.id())),
                new StackIndexDefinition(1, WireModel.toWire(C.id()))));
        first.setNewThreads(List.of(new ThreadIndexDefinition(0, "worker-1"), new ThreadIndexDefinition(1, "worker-2")));
        PackedEntries.set(first, List.of(new IndexedStackCount(0, 700L, 0, -1L), new IndexedStackCount(1, 300L, 1, 12_345L)));
        // The next window only references the indexes, and also carries one v1 entry.
        SampleBatch second = WireModel.toBatch(window(), "svc", Map.of(), "c", 1);
        second.setEntries(List.of(new StackCount(WireModel.toWire(C.id()), 5L, "worker-2", null)));
        PackedEntries.set(second, List.of(new IndexedStackCount(0, 70L, 0, -1L)));

        Bindings index = new InMemoryBindings();
        var builder = Profile.builder(ProfileType.cpu(99));
        for (SampleBatch b : List.of(first, second)) {
            WireModel.addBatch(builder, WireCodec.decodeSampleBatch(WireCodec.encode(b)), index, dictionary::get);
        }
        Profile p = builder.build();
        assertEquals(1075, p.totalCount());
        Map<String, Long> byStackAndThread = new HashMap<>();
        for (Sample x : p.samples()) {
            byStackAndThread.merge(x.stack().collapsed() + "@" + x.thread(), x.count(), Long::sum);
        }
        assertEquals(770L, byStackAndThread.get(AB.collapsed() + "@worker-1"));
        assertEquals(305L, byStackAndThread.get(C.collapsed() + "@worker-2"));
        assertEquals(2, byStackAndThread.size());

        // Read alone, the second window cannot resolve index 0: counted, as an unknown stack.
        Profile alone = WireModel.toProfile(second, dictionary::get);
        assertEquals(75, alone.totalCount());
        assertTrue(alone.samples().stream().anyMatch(x -> x.stack().collapsed()
                .equals("[unknown stack " + WireModel.UNBOUND_STACK.toHex() + "]") && x.count() == 70));
    }

    @Test
    void unwindingDetailsTravelAndAreAbsentFromOlderCollectors() throws Exception {
        Unwinding u = new Unwinding("auto", 16384, 1, 297, 1, 1);
        ProfileStats stats = new ProfileStats(0, 0, 0, 300, OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), Optional.of(u));
        WindowStats wire = WireModel.toWire(stats);
        assertEquals(297L, wire.getUnwinding().getStackCopyCuts());
        SampleBatch batch = WireModel.toBatch(Profile.builder(ProfileType.cpu(99))
                .timeRange(Instant.EPOCH, Instant.EPOCH.plusSeconds(1)).add(C, null, 300).stats(stats).build(),
                "svc", Map.of(), "c-1", 0);
        assertEquals(stats, WireModel.fromWire(WireCodec.decodeSampleBatch(WireCodec.encode(batch)).getStats()));

        // Written as a v3 collector does (the same fields without unwinding): the reasons are unknown.
        Schema v3 = ReleasedSchemas.all().get(2).sampleBatch();
        byte[] old = new BinaryMessageEncoder<SampleBatch>(SpecificData.get(), v3).encode(batch).array();
        assertEquals(new WireCodec.Known(WireCodec.RecordType.SAMPLE_BATCH, 3), WireCodec.identify(old));
        ProfileStats fromV3 = WireModel.fromWire(WireCodec.decodeSampleBatch(old).getStats());
        assertEquals(300, fromV3.truncatedStacks());
        assertTrue(fromV3.unwinding().isEmpty());

        // A hostile writer's negative count leaves the details out; the window's counts stay.
        wire.getUnwinding().setCorruptCuts(-5L);
        ProfileStats hostile = WireModel.fromWire(wire);
        assertTrue(hostile.unwinding().isEmpty());
        assertEquals(300, hostile.truncatedStacks());
    }
}
