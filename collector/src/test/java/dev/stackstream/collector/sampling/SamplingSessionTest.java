package dev.stackstream.collector.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Sample;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real perf events on the native fixtures (needs root or CAP_PERFMON, as CI runs). */
class SamplingSessionTest {
    private Symbolizer symbolizer;

    @BeforeEach
    void symbolizer() {
        symbolizer = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false));
    }

    @AfterEach
    void close() {
        symbolizer.close();
    }

    /** Runs a held command under a session until it exits; returns the merged profile. */
    private Profile recordCommand(SamplingOptions options, List<String> argv, int bufferBytes) throws Exception {
        LaunchedCommand cmd = LaunchedCommand.hold(argv);
        ProfileBuilder merged = Profile.builder(ProfileType.cpu(options.frequencyHz()));
        try (SamplingSession s = SamplingSession.open(options.toBuilder().pid(cmd.pid()).build(), symbolizer,
                Clock.systemUTC(), bufferBytes)) {
            cmd.resume();
            var sampler = new WindowedSampler(s, Duration.ofMillis(500), Duration.ofSeconds(60), Clock.systemUTC(),
                    merged::merge);
            assertEquals(WindowedSampler.StopReason.TARGET_EXITED, sampler.run());
            assertTrue(sampler.windows() >= 2, "windows " + sampler.windows());
            assertEquals(OptionalInt.of(0), cmd.waitFor(Duration.ofSeconds(10)));
            if (bufferBytes < 1024) {
                assertTrue(s.bufferCapacity() > bufferBytes, "the drain buffer grew on -ENOSPC");
            }
        }
        return merged.build();
    }

    @Test
    void calltreeSplitsSeventyThirtyWithTheFullPath() throws Exception {
        Profile p = recordCommand(SamplingOptions.builder().frequencyHz(999).build(),
                // 5 s at 999 Hz: ~5,000 samples keep the split's sampling noise near 0.65 pp (±2 pp = 3 sigma).
                List.of(NativeFixtures.fixture("calltree").toString(), "5"), SamplingSession.DEFAULT_BUFFER_BYTES);
        long b = NativeFixtures.leafCount(p, "b");
        long c = NativeFixtures.leafCount(p, "c");
        assertTrue(b + c > 2000, "samples in b and c: " + (b + c) + " of " + p.totalCount());
        double bShare = 100.0 * b / (b + c);
        assertEquals(70.0, bShare, 2.0, "b share of b+c (b=" + b + ", c=" + c + ")");
        assertTrue(NativeFixtures.hasPath(p, "main", "a", "b"), "a stack main;...;a;b");
        assertTrue(NativeFixtures.hasPath(p, "main", "c"), "a stack main;...;c");
        assertFalse(p.samples().stream().anyMatch(s -> s.stack().collapsed().matches(".*\\bmain;b$")),
                "leaf-caller fix-up: b is never reported directly under main");
        assertTrue(p.stats().targetCpuNanos().isPresent(), "target CPU time measured from /proc");
        double cpuSeconds = p.stats().targetCpuNanos().getAsLong() / 1e9;
        assertEquals(5.0, cpuSeconds, 0.3, "calltree 5 burns 5 s of CPU (summed window deltas from /proc)");
        // the samples agree with /proc: one sample per 1/999 s of CPU time, minus what was lost
        assertEquals(cpuSeconds * 999, p.totalCount(), cpuSeconds * 999 * 0.1, "samples vs CPU time");
        assertTrue(p.stats().instructions().isEmpty(), "no PMU here: instructions not available, not zero");
        assertTrue(p.samples().stream().allMatch(s -> s.thread() != null), "per-thread samples carry a thread name");
        assertTrue(p.samples().stream().anyMatch(s -> "calltree".equals(s.thread())), "main thread named from COMM");
    }

    /** Records what the session hands to the symbolizer, passing everything on. */
    private static final class RecordingSymbolizer implements Symbolizer {
        private final Symbolizer real;
        final List<String> mappedPaths = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<Integer> exits = new java.util.concurrent.CopyOnWriteArrayList<>();

        RecordingSymbolizer(Symbolizer real) {
            this.real = real;
        }

        @Override
        public void onMapping(int pid, long start, long length, long fileOffset, String path, byte[] buildId) {
            mappedPaths.add(path);
            real.onMapping(pid, start, length, fileOffset, path, buildId);
        }

        @Override
        public void onProcessExit(int pid) {
            exits.add(pid);
            real.onProcessExit(pid);
        }

        @Override
        public List<dev.stackstream.profile.Frame> symbolize(int pid, long[] ips, int kernelDepth) {
            return real.symbolize(pid, ips, kernelDepth);
        }

        @Override
        public dev.stackstream.symbols.SymbolizerStats stats() {
            return real.stats();
        }

        @Override
        public void close() {
        }
    }

    @Test
    void mappingsOfAHeldCommandBeforeItsExecAreNotPassedOn() throws Exception {
        RecordingSymbolizer recording = new RecordingSymbolizer(symbolizer);
        LaunchedCommand cmd = LaunchedCommand.hold(List.of(NativeFixtures.fixture("calltree").toString(), "0.3"));
        try (SamplingSession s = SamplingSession.open(SamplingOptions.builder().pid(cmd.pid()).build(), recording)) {
            cmd.resume();
            assertEquals(OptionalInt.of(0), cmd.waitFor(Duration.ofSeconds(30)));
            s.stop();
            Profile p = s.drainWindow();
            assertTrue(p.totalCount() > 0);
        }
        // Until its exec the held child is a fork of this JVM: its libjvm mapping must not reach
        // the symbolizer (which would take the command for a JVM and send it jcmd's SIGQUIT).
        assertTrue(recording.mappedPaths.stream().noneMatch(m -> m.endsWith("/libjvm.so")), recording.mappedPaths.toString());
        assertTrue(recording.mappedPaths.stream().anyMatch(m -> m.endsWith("/calltree")), recording.mappedPaths.toString());
        assertTrue(recording.exits.contains(cmd.pid()), "the exec made the symbolizer drop the old image");
    }

    @Test
    void cpuTimeOfFollowedChildrenIsCountedOnce() throws Exception {
        String calltree = NativeFixtures.fixture("calltree").toString();
        Profile p = recordCommand(SamplingOptions.builder().frequencyHz(199).build(),
                List.of("sh", "-c", calltree + " 0.6; " + calltree + " 0.6"), SamplingSession.DEFAULT_BUFFER_BYTES);
        // two children of sh, each 0.6 s of CPU: counted while they run, then through sh's cutime
        double cpu = p.stats().targetCpuNanos().orElseThrow() / 1e9;
        assertEquals(1.2, cpu, 0.15, "CPU of the command and its children");
        assertTrue(NativeFixtures.hasPath(p, "main", "a", "b"), "the children's stacks");
    }

    @Test
    void aCgroupTargetSamplesEveryProcessInIt() throws Exception {
        Path cgroup2 = cgroup2Mount().resolve("stackstream-test-" + ProcessHandle.current().pid());
        Files.createDirectory(cgroup2);
        Process proc = null;
        try {
            proc = new ProcessBuilder("sh", "-c", "read go; exec " + NativeFixtures.fixture("calltree") + " 1.5").start();
            Files.writeString(cgroup2.resolve("cgroup.procs"), Long.toString(proc.pid()));
            try (SamplingSession s = SamplingSession.open(SamplingOptions.builder().cgroupPath(cgroup2.toString())
                    .frequencyHz(999).build(), symbolizer)) {
                proc.getOutputStream().write("go\n".getBytes());
                proc.getOutputStream().flush();
                ProfileBuilder merged = Profile.builder(ProfileType.cpu(999));
                var sampler = new WindowedSampler(s, Duration.ofMillis(300), Duration.ofSeconds(60),
                        Clock.systemUTC(), merged::merge);
                // The cgroup directory outlives its one process, but an emptied cgroup is an ended
                // target: the session notices on its next rescan (60 s is only the safety net).
                assertEquals(WindowedSampler.StopReason.TARGET_EXITED, sampler.run());
                Profile p = merged.build();
                assertTrue(NativeFixtures.leafCount(p, "b") + NativeFixtures.leafCount(p, "c") > 500,
                        "the cgroup's process was sampled: " + p.totalCount());
                assertTrue(p.stats().targetCpuNanos().orElseThrow() >= 900_000_000L, "cpu.stat of the cgroup: "
                        + p.stats());
            }
        } finally {
            if (proc != null) {
                proc.destroyForcibly();
                proc.waitFor(10, TimeUnit.SECONDS);
            }
            Files.delete(cgroup2);
        }
    }

    private static Path cgroup2Mount() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash > 0 && "cgroup2".equals(f[dash + 1])) {
                return Path.of(f[4]);
            }
        }
        throw new IllegalStateException("no cgroup2 mount");
    }

    @Test
    void aTinyDrainBufferGrowsAndLosesNothing() throws Exception {
        Profile p = recordCommand(SamplingOptions.builder().frequencyHz(499).perThread(false).build(),
                List.of(NativeFixtures.fixture("calltree").toString(), "1"), 64);
        assertTrue(p.totalCount() > 300, "samples " + p.totalCount());
        assertTrue(NativeFixtures.hasPath(p, "main", "a", "b"));
        assertTrue(p.samples().stream().allMatch(s -> s.thread() == null), "not per thread: no thread names");
    }

    @Test
    void threadsStartedAfterAttachAreSampledAndNamed() throws Exception {
        Process proc = new ProcessBuilder(NativeFixtures.fixture("calltree_mt").toString(), "1.5", "3")
                .inheritIO().start();
        Map<String, Long> byThread = new TreeMap<>();
        try (SamplingSession s = SamplingSession.open(SamplingOptions.builder().pid((int) proc.pid())
                .frequencyHz(999).build(), symbolizer)) {
            var sampler = new WindowedSampler(s, Duration.ofSeconds(1), Duration.ofSeconds(60), Clock.systemUTC(),
                    w -> w.samples().forEach(x -> byThread.merge(x.thread(), x.count(), Long::sum)));
            assertEquals(WindowedSampler.StopReason.TARGET_EXITED, sampler.run());
            assertTrue(s.stats().threadsAttached() >= 4, "main + 3 workers attached: " + s.stats());
        } finally {
            proc.waitFor(10, TimeUnit.SECONDS);
        }
        assertEquals(0, proc.exitValue());
        for (String w : List.of("worker-1", "worker-2", "worker-3")) {
            assertTrue(byThread.getOrDefault(w, 0L) > 500, w + " sampled and named: " + byThread);
        }
    }

    @Test
    void aProcessThatDoesNotExistIsAClearError() {
        var e = assertThrows(ProfilerException.class, () -> SamplingSession.open(
                SamplingOptions.builder().pid(999_999).build(), symbolizer));
        assertTrue(e.getMessage().toLowerCase().contains("no such process"), e.getMessage());
        assertTrue(e.getMessage().contains("999999"), e.getMessage());
        assertEquals(-3, e.errorCode(), "ESRCH");
    }

    @Test
    void aTargetThatExitsEndsTheSessionCleanlyWithWhatWasSampled() throws Exception {
        Process proc = new ProcessBuilder(NativeFixtures.fixture("calltree").toString(), "0.7").inheritIO().start();
        try (SamplingSession s = SamplingSession.open(SamplingOptions.builder().pid((int) proc.pid()).build(),
                symbolizer)) {
            assertTrue(proc.waitFor(20, TimeUnit.SECONDS), "calltree 0.7 exits");
            // The target is gone; its samples are still in the table.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (s.targetAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertFalse(s.targetAlive());
            s.stop();
            Profile p = s.drainWindow();
            assertTrue(p.totalCount() > 300, "samples of the exited target: " + p.totalCount());
            // Frames keep their module even though the process is gone: the drain carried its mappings.
            assertTrue(p.samples().stream().allMatch(x -> x.stack().frames().stream()
                    .allMatch(f -> f.module() != null)), "every frame has its module: "
                    + p.samples().stream().limit(3).map(x -> x.stack().collapsed()).toList());
            assertTrue(p.samples().stream().anyMatch(x -> x.stack().frames().stream()
                    .anyMatch(f -> f.module().endsWith("/calltree"))), "calltree's own frames");
            s.stop(); // idempotent
            assertEquals(0, s.drainWindow().totalCount(), "nothing new after the final drain");
        }
    }

    @Test
    void librariesMappedWhileTheSessionAttachesAreKnown() throws Exception {
        // A target caught as it starts: ld.so maps libc while the events are being opened. Maps read
        // before the events were on missed that mmap (1 run in 15 here); read after, nothing is lost.
        for (int run = 0; run < 20; run++) {
            Process proc = new ProcessBuilder(NativeFixtures.fixture("calltree").toString(), "0.05").start();
            try (SamplingSession s = SamplingSession.open(SamplingOptions.builder().pid((int) proc.pid()).build(),
                    symbolizer)) {
                assertTrue(proc.waitFor(20, TimeUnit.SECONDS), "calltree 0.05 exits");
                s.stop();
                Profile p = s.drainWindow();
                // Stacks through main (a frame-pointer walk out of libc's exit path may honestly
                // end in junk): libc's frame below main must have its mapping.
                var unmapped = p.samples().stream().map(Sample::stack)
                        .filter(st -> st.frames().stream().anyMatch(f -> "main".equals(f.function())))
                        .filter(st -> st.frames().stream().anyMatch(f -> f.module() == null))
                        .map(st -> st.collapsed()).limit(3).toList();
                assertTrue(unmapped.isEmpty(), "run " + run + ": frames outside every known mapping: " + unmapped);
            }
        }
    }

    @Test
    void samplerStopsOnDurationAndOnRequest() throws Exception {
        Process proc = new ProcessBuilder(NativeFixtures.fixture("calltree").toString(), "30").inheritIO().start();
        try (SamplingSession s = SamplingSession.open(SamplingOptions.builder().pid((int) proc.pid())
                .frequencyHz(99).build(), symbolizer)) {
            long[] total = new long[1];
            var timed = new WindowedSampler(s, Duration.ofMillis(100), Duration.ofMillis(1000), Clock.systemUTC(),
                    w -> total[0] += w.totalCount());
            assertEquals(WindowedSampler.StopReason.DURATION_ELAPSED, timed.run());
            // at least one regular window plus the final one (how many fit depends on machine load)
            assertTrue(timed.windows() >= 2, "windows " + timed.windows());
            assertTrue(total[0] > 0, "samples " + total[0]);
        } finally {
            proc.destroyForcibly();
            proc.waitFor(10, TimeUnit.SECONDS);
        }
        Process proc2 = new ProcessBuilder(NativeFixtures.fixture("calltree").toString(), "30").inheritIO().start();
        try (SamplingSession s = SamplingSession.open(SamplingOptions.builder().pid((int) proc2.pid())
                .frequencyHz(99).build(), symbolizer)) {
            var open = new WindowedSampler(s, Duration.ofSeconds(10), null, Clock.systemUTC(), w -> { });
            Thread stopper = new Thread(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    return;
                }
                open.stop();
            });
            stopper.start();
            assertEquals(WindowedSampler.StopReason.STOPPED, open.run());
            assertEquals(1, open.windows(), "the last partial window is still delivered");
            stopper.join();
        } finally {
            proc2.destroyForcibly();
            proc2.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void statsAreWindowDeltas() throws Exception {
        Process proc = new ProcessBuilder(NativeFixtures.fixture("calltree").toString(), "30").inheritIO().start();
        try (SamplingSession s = SamplingSession.open(SamplingOptions.builder().pid((int) proc.pid())
                .frequencyHz(999).build(), symbolizer)) {
            Thread.sleep(400);
            Profile first = s.drainWindow();
            Thread.sleep(400);
            Profile second = s.drainWindow();
            NativeStats total = s.stats();
            assertTrue(first.totalCount() > 10 && second.totalCount() > 10,
                    first.totalCount() + ", " + second.totalCount());
            assertTrue(first.totalCount() + second.totalCount() <= total.samples());
            assertFalse(second.start().isBefore(first.end()), "windows do not overlap");
            assertTrue(second.stats().targetMaxRssBytes().isPresent(), "RSS from /proc/PID/status");
            // The window's CPU time (utime+stime from /proc): some, and at most what two CPUs give.
            long cpu = second.stats().targetCpuNanos().orElseThrow();
            long wallNanos = second.duration().toNanos();
            assertTrue(cpu > 0 && cpu <= 2 * wallNanos + 10_000_000, "window CPU " + cpu + " ns in " + wallNanos);
        } finally {
            proc.destroyForcibly();
            proc.waitFor(10, TimeUnit.SECONDS);
        }
    }

    static String threads(Profile p) {
        return p.samples().stream().collect(Collectors.groupingBy(s -> String.valueOf(s.thread()),
                TreeMap::new, Collectors.summingLong(Sample::count))).toString();
    }
}
