package dev.stackstream.collector.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.Unwinding;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * Stacks whose unwinding stops early are marked with their reason's root frame, and the window
 * stats count them by reason (real perf events on the native fixtures; needs root or CAP_PERFMON).
 */
class CutStacksTest {

    private static Profile record(SamplingOptions options, String fixture) throws Exception {
        try (Symbolizer symbolizer = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false))) {
            LaunchedCommand cmd = LaunchedCommand.hold(List.of(NativeFixtures.fixture(fixture).toString(), "1"));
            ProfileBuilder merged = Profile.builder(ProfileType.cpu(options.frequencyHz()));
            try (SamplingSession s = SamplingSession.open(options.toBuilder().pid(cmd.pid()).build(), symbolizer)) {
                cmd.resume();
                new WindowedSampler(s, Duration.ofMillis(300), Duration.ofSeconds(30), Clock.systemUTC(),
                        merged::merge).run();
                assertEquals(OptionalInt.of(0), cmd.waitFor(Duration.ofSeconds(10)));
            }
            return merged.build();
        }
    }

    /** Samples per root-frame reason; every truncated stack must start with one, no other stack may. */
    private static Map<CutReason, Long> marked(Profile p) {
        Map<CutReason, Long> byReason = new EnumMap<>(CutReason.class);
        for (Sample s : p.samples()) {
            CutReason reason = null;
            for (CutReason r : CutReason.values()) {
                if (s.stack().frames().get(0).equals(r.frame())) {
                    reason = r;
                }
            }
            assertEquals(s.stack().truncated(), reason != null, "marked iff truncated: " + s.stack());
            if (reason != null) {
                byReason.merge(reason, s.count(), Long::sum);
            }
        }
        return byReason;
    }

    /** Records fixture, checks that the window stats count exactly the marked samples; returns them. */
    private static Unwinding recordAndCount(SamplingOptions options, String fixture) throws Exception {
        Profile p = record(options, fixture);
        Map<CutReason, Long> marked = marked(p);
        Unwinding u = p.stats().unwinding().orElseThrow();
        assertEquals(marked.getOrDefault(CutReason.DEPTH, 0L), u.depthCuts(), "depth " + u);
        assertEquals(marked.getOrDefault(CutReason.STACK_COPY, 0L), u.stackCopyCuts(), "copy " + u);
        assertEquals(marked.getOrDefault(CutReason.NO_UNWIND_INFO, 0L), u.noUnwindInfoCuts(), "no info " + u);
        assertEquals(marked.getOrDefault(CutReason.CORRUPT, 0L), u.corruptCuts(), "corrupt " + u);
        assertEquals(u.cuts(), p.stats().truncatedStacks());
        // most samples are cut in both set-ups below
        assertTrue(u.cuts() > p.totalCount() / 2, u + " of " + p.totalCount());
        return u;
    }

    @Test
    void aCopyTooShortCutsByCfiAndSaysSo() throws Exception {
        // 64 bytes hold burn's and b's frames at most: main and libc lie beyond the copy
        Unwinding u = recordAndCount(SamplingOptions.builder().frequencyHz(999).unwind(SamplingOptions.Unwind.CFI)
                .stackBytes(64).build(), "calltree_nofp");
        assertEquals("cfi", u.method());
        assertEquals(64, u.stackBytes());
        assertTrue(u.stackCopyCuts() > u.cuts() / 2, u.toString());
    }

    @Test
    void theDepthLimitIsItsOwnReason() throws Exception {
        Unwinding u = recordAndCount(SamplingOptions.builder().frequencyHz(999).unwind(SamplingOptions.Unwind.FP)
                .maxDepth(2).build(), "calltree");
        assertEquals("fp", u.method());
        assertEquals(u.cuts(), u.depthCuts(), u.toString());
    }
}
