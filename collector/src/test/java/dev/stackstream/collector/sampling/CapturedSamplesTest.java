package dev.stackstream.collector.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Samples kept by the sampler and unwound again after the stop (real perf events; needs root). */
class CapturedSamplesTest {
    @Test
    void capturedSamplesUnwindAgainToTheRoot() throws Exception {
        try (Symbolizer symbolizer = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false))) {
            LaunchedCommand cmd = LaunchedCommand.hold(List.of(NativeFixtures.fixture("calltree_nofp").toString(), "1"));
            SamplingOptions options = SamplingOptions.builder().frequencyHz(999).unwind(SamplingOptions.Unwind.CFI)
                    .pid(cmd.pid()).build();
            try (SamplingSession s = SamplingSession.open(options, symbolizer)) {
                s.captureSamples(200);
                cmd.resume();
                assertTrue(cmd.waitFor(Duration.ofSeconds(30)).isPresent(), "calltree_nofp 1 ends");
                long[] out = new long[options.maxDepth()];
                int[] cut = new int[1];
                if (s.capturedSamples() > 0) {
                    assertThrows(IllegalStateException.class, () -> s.unwindCaptured(0, out, cut),
                            "the reader owns the tables until the stop");
                }
                s.stop();
                int n = s.capturedSamples();
                assertTrue(n > 100 && n <= 200, "captured " + n);
                int whole = 0;
                StringBuilder missed = new StringBuilder();
                for (int i = 0; i < n; i++) {
                    int depth = s.unwindCaptured(i, out, cut);
                    long[] first = Arrays.copyOf(out, depth);
                    int firstCut = cut[0];
                    assertTrue(depth >= 1, "sample " + i);
                    whole += cut[0] == 0 && depth >= 4 ? 1 : 0;
                    if (cut[0] != 0 || depth < 4) {
                        missed.append(" #").append(i).append(" depth ").append(depth).append(" cut ").append(cut[0]);
                    }
                    int again = s.unwindCaptured(i, out, cut);
                    assertArrayEquals(first, Arrays.copyOf(out, again), "a replay is deterministic");
                    assertEquals(firstCut, cut[0]);
                }
                // burn;a;b under main under libc: CFI gets (nearly) every copy to _start, also the
                // first ones, taken while ld.so relocates (its _start has no FDE: the entry point
                // is the root) and in clock_gettime (the vdso's CFI)
                assertTrue(whole >= 0.95 * n, whole + " of " + n + " reached the root; the others:" + missed);
                assertThrows(IllegalStateException.class, () -> s.unwindCaptured(n, out, cut));
            }
        }
    }

    @Test
    void framePointerSessionsCopyNoStackToCapture() throws Exception {
        try (Symbolizer symbolizer = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false));
             SamplingSession s = SamplingSession.open(SamplingOptions.builder().unwind(SamplingOptions.Unwind.FP)
                     .build(), symbolizer)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.captureSamples(10));
            assertTrue(e.getMessage().contains("FP unwinding copies no stack"), e.getMessage());
        }
    }
}
