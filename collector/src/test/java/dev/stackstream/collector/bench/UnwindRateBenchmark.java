package dev.stackstream.collector.bench;

import dev.stackstream.collector.sampling.LaunchedCommand;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.collector.sampling.SamplingSession;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The unwinding rate: samples per second one core unwinds through the binding
 * ({@link SamplingSession#unwindCaptured}, i.e. JNA into {@code ss_unwind_captured}, the reader
 * thread's own CFI / frame-pointer unwinder over the session's compiled tables). The samples are
 * real: at setup the benchmark runs Debian's perl (regex/split loop) or python3 (json + re), the
 * programs of RootReachTest, under a 999 Hz session with the default 16 KiB stack copy, keeps
 * {@value #SAMPLES} of them (registers, stack bytes, kernel chain), stops the session and ends the
 * program. Each operation unwinds the next captured sample, cycling through all of them. Table
 * compilation is not in the loop (it happened during the capture, once per module). Needs root
 * or CAP_PERFMON. Run with {@code collector/bench/unwind-rate.sh}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class UnwindRateBenchmark {
    static final int SAMPLES = 2000;

    static final String PYTHON = String.join("\n",
            "import json, re, time",
            "doc = {'k%d' % i: {'v': i, 's': 'text %d' % i, 'l': list(range(8))} for i in range(200)}",
            "pat = re.compile(r'\"s\": \"text (\\d+)\"')",
            "n = 0",
            "while time.process_time() < 30:",
            "    t = json.dumps(doc)",
            "    n += sum(int(m.group(1)) for m in pat.finditer(t))",
            "    json.loads(t)",
            "print(n)");

    /** The recorded samples of one program, in a stopped session that replays them. */
    @State(Scope.Benchmark)
    public static class Captured {
        @Param({"perl", "python3"})
        public String program;

        Symbolizer symbolizer;
        SamplingSession session;
        int samples;
        int next;
        long[] out;
        int[] cut = new int[1];

        @Setup(Level.Trial)
        public void record() throws Exception {
            List<String> argv = switch (program) {
                case "perl" -> List.of("/usr/bin/perl", "-e", "my $s = 'alpha beta gamma delta ' x 64; my $n = 0;"
                        + " while ((times)[0] < 30) { for my $w (split / /, $s) { $n++ if $w =~ /^(?:a|g)\\w+a$/ } }"
                        + " print STDERR $n, qq{\\n};");
                case "python3" -> List.of("/usr/bin/python3", "-c", PYTHON);
                default -> throw new IllegalArgumentException("program " + program);
            };
            symbolizer = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false));
            LaunchedCommand cmd = LaunchedCommand.hold(argv);
            SamplingOptions options = SamplingOptions.builder().frequencyHz(999).pid(cmd.pid()).followChildren(true)
                    .build();
            session = SamplingSession.open(options, symbolizer);
            session.captureSamples(SAMPLES);
            cmd.resume();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (session.capturedSamples() < SAMPLES && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            session.stop();
            cmd.terminate(false);
            cmd.waitFor(Duration.ofSeconds(10));
            samples = session.capturedSamples();
            if (samples < SAMPLES / 2) {
                throw new IllegalStateException(program + ": only " + samples + " samples captured in 60 s");
            }
            out = new long[options.maxDepth()];
            long whole = 0;
            long frames = 0;
            for (int i = 0; i < samples; i++) {
                frames += session.unwindCaptured(i, out, cut);
                whole += cut[0] == 0 ? 1 : 0;
            }
            System.err.printf(Locale.ROOT, "%n%s: %d samples captured, %.1f %% unwound to the root, %.1f frames each%n",
                    program, samples, 100.0 * whole / samples, (double) frames / samples);
        }

        @TearDown(Level.Trial)
        public void close() {
            session.close();
            symbolizer.close();
        }
    }

    /** Unwinds one recorded sample; returns its depth plus its cut reason so nothing is optimised away. */
    @Benchmark
    public int unwindOneSample(Captured c) {
        int i = c.next;
        c.next = i + 1 == c.samples ? 0 : i + 1;
        return c.session.unwindCaptured(i, c.out, c.cut) + c.cut[0];
    }
}
