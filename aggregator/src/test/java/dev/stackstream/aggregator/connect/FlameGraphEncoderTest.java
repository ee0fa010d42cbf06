package dev.stackstream.aggregator.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.aggregator.connect.proto.FlameGraph;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The level encoding decodes back into the profile it came from (deep, wide, several profiles, folded). */
class FlameGraphEncoderTest {
    private static final ProfileType CPU_99 = new ProfileType("cpu", "nanoseconds", 10_101_010);
    private static final ProfileType CPU_999 = new ProfileType("cpu", "nanoseconds", 1_001_001);

    private static Stack stack(List<String> names) {
        List<Frame> frames = new ArrayList<>();
        names.forEach(n -> frames.add(Frame.named(n, FrameKind.USER)));
        return new Stack(frames, false);
    }

    /** The folded form the levels must decode to: path -> self value (count x period). */
    private static Map<String, Long> expected(List<Profile> profiles) {
        Map<String, Long> out = new TreeMap<>();
        for (Profile p : profiles) {
            p.samples().forEach(s -> out.merge(s.stack().collapsed(), s.count() * p.type().period(), Long::sum));
        }
        return out;
    }

    @Test
    void deepStacksRoundTrip() {
        List<String> deep = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            deep.add("f" + i);
        }
        Profile p = Profile.builder(CPU_99)
                .add(stack(deep), null, 7)
                .add(stack(deep.subList(0, 1500)), null, 3)
                .add(stack(deep.subList(0, 1500)), "worker-1", 2)   // threads merge: the panel has none
                .add(stack(List.of("f0", "g")), null, 5)
                .build();
        FlameGraph fg = FlameGraphEncoder.encode(List.of(p), FlameGraphEncoder.DEFAULT_MAX_NODES);
        assertEquals(3001, fg.getLevelsCount());
        assertEquals(17 * CPU_99.period(), fg.getTotal());
        assertEquals(expected(List.of(p)), FlameGraphLevels.decode(fg));
        assertEquals(7 * CPU_99.period(), fg.getMaxSelf());
    }

    @Test
    void wideTreesOfSeveralProfilesRoundTrip() {
        Random random = new Random(20261203);
        ProfileBuilder a = Profile.builder(CPU_99);
        ProfileBuilder b = Profile.builder(CPU_999);
        for (int i = 0; i < 5000; i++) {
            List<String> path = List.of("main", "handler" + (i % 40), "leaf" + i);
            a.add(stack(path), null, 1 + random.nextInt(50));
            if (i % 3 == 0) {
                b.add(stack(path), null, 1 + random.nextInt(500));
            }
        }
        b.add(stack(List.of("main")), null, 11);   // self time in an inner node
        List<Profile> profiles = List.of(a.build(), b.build());
        FlameGraph fg = FlameGraphEncoder.encode(profiles, 100_000);
        Map<String, Long> want = expected(profiles);
        assertEquals(want, FlameGraphLevels.decode(fg));
        assertEquals(want.values().stream().mapToLong(Long::longValue).sum(), fg.getTotal());
        assertEquals(5000 + 40 + 1 + 1, fg.getNamesCount(), "each name once: total, main, handlers, leaves");
    }

    @Test
    void maxNodesFoldsTheSmallestIntoOtherAndKeepsEveryTotal() {
        Random random = new Random(7);
        ProfileBuilder b = Profile.builder(CPU_99);
        for (int i = 0; i < 2000; i++) {
            b.add(stack(List.of("main", "h" + (i % 10), "leaf" + i)), null, 1 + random.nextInt(1000));
        }
        Profile p = b.build();
        int maxNodes = 100;
        FlameGraph fg = FlameGraphEncoder.encode(List.of(p), maxNodes);
        Map<String, Long> decoded = FlameGraphLevels.decode(fg);
        assertEquals(p.totalCount() * CPU_99.period(), fg.getTotal());
        assertEquals(fg.getTotal(), decoded.values().stream().mapToLong(Long::longValue).sum(), "nothing lost");

        Map<String, Long> want = expected(List.of(p));
        long smallestKept = Long.MAX_VALUE;
        int kept = 0;
        int others = 0;
        for (Map.Entry<String, Long> e : decoded.entrySet()) {
            if (e.getKey().endsWith(";" + FlameGraphEncoder.OTHER)) {
                others++;
            } else {
                assertEquals(want.get(e.getKey()), e.getValue(), "a kept stack keeps its value: " + e.getKey());
                smallestKept = Math.min(smallestKept, e.getValue());
                kept++;
            }
        }
        int frames = 0;
        for (int d = 1; d < fg.getLevelsCount(); d++) {
            frames += fg.getLevels(d).getValuesCount() / 4;
        }
        assertTrue(frames - others <= maxNodes, "at most max_nodes frames besides 'other': " + frames + ", " + others);
        assertTrue(others >= 1 && others <= 10, "one 'other' under each handler that lost leaves: " + others);
        assertTrue(kept > 50, "the budget is used: " + kept);
        long finalSmallestKept = smallestKept;
        want.forEach((path, v) -> {
            if (!decoded.containsKey(path)) {
                assertTrue(v <= finalSmallestKept, path + " (" + v + ") folded although larger than a kept leaf");
            }
        });
    }

    /** The exact wire form of a small tree, whole and folded (what Pyroscope would send for it). */
    @Test
    void exactLevelsOfASmallTree() {
        Profile p = Profile.builder(new ProfileType("cpu", "nanoseconds", 1))
                .add(stack(List.of("main", "a")), null, 3)
                .add(stack(List.of("main", "b")), null, 2)
                .add(stack(List.of("main")), null, 1)
                .add(stack(List.of("c")), null, 4)
                .build();
        FlameGraph whole = FlameGraphEncoder.encode(List.of(p), 10);
        assertEquals(List.of("total", "c", "main", "a", "b"), whole.getNamesList());
        assertEquals(List.of(0L, 10L, 0L, 0L), whole.getLevels(0).getValuesList());
        assertEquals(List.of(0L, 4L, 4L, 1L, 0L, 6L, 1L, 2L), whole.getLevels(1).getValuesList());
        assertEquals(List.of(5L, 3L, 3L, 3L, 0L, 2L, 2L, 4L), whole.getLevels(2).getValuesList());
        assertEquals(10, whole.getTotal());
        assertEquals(4, whole.getMaxSelf());

        // 4 nodes, 3 kept: b (the smallest) becomes main's "other", at b's place.
        FlameGraph folded = FlameGraphEncoder.encode(List.of(p), 3);
        assertEquals(List.of("total", "c", "main", "a", FlameGraphEncoder.OTHER), folded.getNamesList());
        assertEquals(whole.getLevels(1), folded.getLevels(1));
        assertEquals(List.of(5L, 3L, 3L, 3L, 0L, 2L, 2L, 4L), folded.getLevels(2).getValuesList());
    }

    @Test
    void emptyProfileIsTheRootAlone() {
        FlameGraph fg = FlameGraphEncoder.encode(List.of(), 10);
        assertEquals(List.of(0L, 0L, 0L, 0L), fg.getLevels(0).getValuesList());
        assertEquals(1, fg.getLevelsCount());
        assertThrows(IllegalArgumentException.class, () -> FlameGraphEncoder.encode(List.of(), 0));
    }
}
