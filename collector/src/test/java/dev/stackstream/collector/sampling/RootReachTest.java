package dev.stackstream.collector.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Sample;
import dev.stackstream.symbols.PerfRecorder;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stock binaries nobody here wrote, built without frame pointers (Debian's perl, gzip, python3 and
 * node; pyenv's CPython 3.11), each sampled at once by the collector's session (default unwinding:
 * CFI) and by {@code perf record --call-graph dwarf} (the reference) from before its exec to its
 * exit. On the same run, two shares of the user-space samples (leaf not in the kernel): those whose
 * stack reaches the process or thread root ({@code _start}, {@code __libc_start_*},
 * {@code clone}/{@code clone3}, {@code start_thread} among its three outermost frames: a stripped
 * executable's {@code _start} has no name, the libc frames inside it do) and those whose leaf is
 * named. Ours must be
 * no lower than perf's minus the sampling noise of the difference: both are binomial shares of
 * independent sample sets, so the margin is three standard errors of the difference,
 * 3·sqrt(p1(1−p1)/n1 + p2(1−p2)/n2) (each p kept at least 1/n from 0 and 1, so a perfect score
 * does not claim zero noise), plus half a point for what the two do differently by design (perf
 * copies 8 KiB of stack, we copy 16 KiB; perf's libdw stops at a few frames it cannot unwind
 * where we fall back to the frame pointer, and the other way round).
 */
class RootReachTest {
    private static final Pattern ROOT = Pattern.compile("_start|__libc_start_.*|clone3?|start_thread");
    private static final Pattern PERF_FRAME = Pattern.compile("^\\s+([0-9a-f]+) (.*) \\((.*)\\)$");
    private static final double DESIGN_SLACK = 0.005;
    private static final int ROOT_FRAMES = 3;

    /** Counts over one profiler's user-space samples. */
    private record Reach(long userSamples, long reachedRoot, long namedLeaves) {
        double root() {
            return (double) reachedRoot / userSamples;
        }

        double named() {
            return (double) namedLeaves / userSamples;
        }
    }

    // Each program burns 4 s of its own CPU time (gzip: 40 MB), ~4,000 samples at 999 Hz however
    // loaded the machine is.
    @Test
    void perlRegexSplitLoop(@TempDir Path dir) throws Exception {
        compare(dir, "perl", List.of("perl", "-e", "my $s = 'alpha beta gamma delta ' x 64;"
                + " my $n = 0; while ((times)[0] < 4) { for my $w (split / /, $s) { $n++ if $w =~ /^(?:a|g)\\w+a$/ } }"
                + " print STDERR $n, qq{\\n};"));
    }

    @Test
    void gzipOfFortyMegabytes(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("words.txt");
        writeText(text, 40L << 20);
        compare(dir, "gzip -6", List.of("sh", "-c", "exec gzip -6 -c " + text + " > /dev/null"));
    }

    @Test
    void debianPython3JsonAndRe(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "Debian's python3 not installed");
        compare(dir, "python3 (Debian)", List.of("/usr/bin/python3", "-c", PYTHON));
    }

    @Test
    void pyenvPython311WithoutFramePointers(@TempDir Path dir) throws Exception {
        Path versions = Path.of(System.getenv().getOrDefault("PYENV_ROOT",
                System.getProperty("user.home") + "/.pyenv"), "versions");
        Path python = null;
        if (Files.isDirectory(versions)) {
            try (Stream<Path> s = Files.list(versions)) {
                python = s.filter(p -> p.getFileName().toString().startsWith("3.11"))
                        .map(p -> p.resolve("bin/python3")).filter(Files::isExecutable).findFirst().orElse(null);
            }
        }
        assumeTrue(python != null, "no pyenv CPython 3.11 under " + versions);
        compare(dir, "python 3.11 (pyenv)", List.of(python.toString(), "-c", PYTHON));
    }

    @Test
    void nodeWithPerfBasicProf(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/node")), "node not installed");
        compare(dir, "node --perf-basic-prof", List.of("/usr/bin/node", "--perf-basic-prof", "-e",
                "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }"
                        + " let s = 0; while (process.cpuUsage().user < 4e6) s += fib(25);"
                        + " console.error(s);"));
    }

    private static final String PYTHON = String.join("\n",
            "import json, re, time",
            "doc = {'k%d' % i: {'v': i, 's': 'text %d' % i, 'l': list(range(8))} for i in range(200)}",
            "pat = re.compile(r'\"s\": \"text (\\d+)\"')",
            "n = 0",
            "while time.process_time() < 4:",
            "    t = json.dumps(doc)",
            "    n += len(pat.findall(t)) + len(json.loads(t))",
            "print(n, file=__import__('sys').stderr)");

    private static void compare(Path dir, String what, List<String> argv) throws Exception {
        assumeTrue(onPath("perf"), "perf not installed (Debian package linux-perf)");
        Path data = dir.resolve("perf.data");
        Profile ours;
        try (Symbolizer symbolizer = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false))) {
            LaunchedCommand cmd = LaunchedCommand.hold(argv);
            ProfileBuilder merged = Profile.builder(ProfileType.cpu(999));
            try (SamplingSession s = SamplingSession.open(SamplingOptions.builder().frequencyHz(999)
                    .pid(cmd.pid()).build(), symbolizer, Clock.systemUTC());
                 // The command runs only once perf said its events are on (PerfRecorder): perf
                 // enables them seconds after opening them on a loaded machine, and a command let
                 // run at the open had ended unsampled (0 perf samples of a 4 s perl run in CI).
                 PerfRecorder perf = PerfRecorder.start(List.of("-e", "cpu-clock", "-F", "999", "--call-graph",
                         "dwarf"), cmd.pid(), data, dir)) {
                cmd.resume();
                var sampler = new WindowedSampler(s, Duration.ofSeconds(1), Duration.ofSeconds(120),
                        Clock.systemUTC(), merged::merge);
                assertEquals(WindowedSampler.StopReason.TARGET_EXITED, sampler.run());
                assertEquals(OptionalInt.of(0), cmd.waitFor(Duration.ofSeconds(10)), what + " exit status");
                assertTrue(perf.waitFor(60), "perf record ends with its target: " + perf.log());
            }
            ours = merged.build();
        }
        Reach mine = ours(ours);
        Reach perfs = perf(data);
        double rootMargin = margin(mine.root(), mine.userSamples(), perfs.root(), perfs.userSamples());
        double namedMargin = margin(mine.named(), mine.userSamples(), perfs.named(), perfs.userSamples());
        String line = String.format(Locale.ROOT, "%s: user samples %d (perf %d); root reached %.1f %% (perf %.1f %%,"
                        + " margin %.1f pp); named leaves %.1f %% (perf %.1f %%, margin %.1f pp)", what,
                mine.userSamples(), perfs.userSamples(), 100 * mine.root(), 100 * perfs.root(), 100 * rootMargin,
                100 * mine.named(), 100 * perfs.named(), 100 * namedMargin);
        System.out.println(line);
        assertTrue(mine.userSamples() >= 500 && perfs.userSamples() >= 500, line);
        assertTrue(mine.root() >= perfs.root() - rootMargin, line);
        assertTrue(mine.named() >= perfs.named() - namedMargin, line);
    }

    /** Three standard errors of the difference of two binomial shares, plus the design slack. */
    static double margin(double p1, long n1, double p2, long n2) {
        double q1 = Math.min(Math.max(p1, 1.0 / n1), 1 - 1.0 / n1);
        double q2 = Math.min(Math.max(p2, 1.0 / n2), 1 - 1.0 / n2);
        return 3 * Math.sqrt(q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2) + DESIGN_SLACK;
    }

    private static Reach ours(Profile p) {
        long user = 0;
        long root = 0;
        long named = 0;
        for (Sample s : p.samples()) {
            List<Frame> f = s.stack().frames();
            if (f.isEmpty() || s.stack().leaf().kind() == FrameKind.KERNEL) {
                continue;
            }
            user += s.count();
            boolean reached = false;
            for (int i = 0; i < Math.min(ROOT_FRAMES, f.size()) && !s.stack().truncated(); i++) {
                reached |= f.get(i).function() != null && ROOT.matcher(base(f.get(i).function())).matches();
            }
            root += reached ? s.count() : 0;
            if (s.stack().leaf().isResolved()) {
                named += s.count();
            }
        }
        return new Reach(user, root, named);
    }

    /** perf's names carry no version suffix; ours may ({@code __libc_start_main@@GLIBC_2.34}). */
    private static String base(String function) {
        int at = function.indexOf('@');
        return at > 0 ? function.substring(0, at) : function;
    }

    /** perf script's callchains: one block per sample, leaf first, separated by blank lines. */
    private static Reach perf(Path data) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("perf", "script", "--no-inline", "-i", data.toString(), "-F", "comm,tid,ip,sym,dso")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        long user = 0;
        long root = 0;
        long named = 0;
        List<String[]> frames = new ArrayList<>();
        try (var r = p.inputReader(StandardCharsets.UTF_8)) {
            for (String l = r.readLine(); ; l = r.readLine()) {
                var m = l == null ? null : PERF_FRAME.matcher(l);
                if (m != null && m.matches()) {
                    frames.add(new String[] {m.group(2), m.group(3)});
                    continue;
                }
                if (!frames.isEmpty() && !frames.get(0)[1].contains("kernel.kallsyms")) {
                    user++;
                    boolean reached = false;
                    for (int i = frames.size() - 1; i >= Math.max(0, frames.size() - ROOT_FRAMES); i--) {
                        reached |= ROOT.matcher(frames.get(i)[0].replaceAll("\\+0x[0-9a-f]+$", "")).matches();
                    }
                    root += reached ? 1 : 0;
                    named += frames.get(0)[0].startsWith("[unknown]") ? 0 : 1;
                }
                frames.clear();
                if (l == null) {
                    break;
                }
            }
        }
        assertTrue(p.waitFor(300, TimeUnit.SECONDS) && p.exitValue() == 0, "perf script");
        return new Reach(user, root, named);
    }

    /** A text file of pseudo-random words, about bytes long (gzip's input). */
    private static void writeText(Path file, long bytes) throws IOException {
        String[] words = {"stack", "frame", "unwind", "sample", "profile", "kernel", "module", "symbol", "table",
            "window", "collector", "broker", "thread", "process", "return", "address"};
        Random random = new Random(42);
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            long written = 0;
            StringBuilder line = new StringBuilder(128);
            while (written < bytes) {
                line.setLength(0);
                for (int i = 0; i < 12; i++) {
                    line.append(words[random.nextInt(words.length)]).append(i == 11 ? '\n' : ' ');
                }
                w.append(line);
                written += line.length();
            }
        }
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }
}
