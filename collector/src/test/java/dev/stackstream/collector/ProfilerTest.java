package dev.stackstream.collector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.collector.sampling.ProfilerException;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-process API on this very JVM, with real perf events. */
class ProfilerTest {
    private static final String BURNER = "ss-burner";

    /**
     * Spins on a thread named BURNER until it has used cpu of CPU time (not wall time: the test
     * machine may be busy, and cpu-clock samples follow CPU time); returns the loop result.
     */
    private static long burnOnNamedThread(Duration cpu) throws InterruptedException {
        AtomicLong result = new AtomicLong();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Thread t = new Thread(() -> {
            long end = mx.getCurrentThreadCpuTime() + cpu.toNanos();
            long x = 1;
            while (mx.getCurrentThreadCpuTime() < end) {
                for (int i = 0; i < 10_000; i++) {
                    x = x * 6364136223846793005L + 1442695040888963407L;
                }
            }
            result.set(x);
        }, BURNER);
        t.start();
        t.join();
        return result.get();
    }

    private static long threadCount(Profile p, String thread) {
        return p.samples().stream().filter(s -> thread.equals(s.thread())).mapToLong(Sample::count).sum();
    }

    @Test
    void profilesACallableOnThisJvm() throws Exception {
        Profiled<Long> r = Profiler.profile(() -> burnOnNamedThread(Duration.ofMillis(1000)));
        assertTrue(r.value() != 0);
        Profile p = r.profile();
        long burner = threadCount(p, BURNER);
        // 1 s of the burner's CPU time at 999 Hz is ~999 samples
        assertEquals(999, burner, 150, "samples on the burner thread (of " + p.totalCount() + ")");
        assertTrue(p.duration().toMillis() >= 900, "profile covers the call: " + p.duration());
        assertTrue(p.stats().targetCpuNanos().orElseThrow() >= 900_000_000L, "JVM CPU time: " + p.stats());
        assertTrue(r.summary().contains(BURNER), "the summary's per-thread split names the burner");
    }

    @Test
    void tryWithResourcesAndExplicitStop(@TempDir Path dir) throws Exception {
        ProfilingSession s;
        try (ProfilingSession running = Profiler.start(ProfilerOptions.builder().frequencyHz(499)
                .window(Duration.ofMillis(200)).label("service", "self-test").build())) {
            s = running;
            assertTrue(running.isRunning());
            burnOnNamedThread(Duration.ofMillis(600)); // CPU time: ~300 samples at 499 Hz
        }
        assertFalse(s.isRunning());
        Profile p = s.profile();
        assertSame(p, s.stop(), "stop is idempotent and returns the same profile");
        assertEquals("self-test", p.labels().get("service"));
        assertEquals(300, threadCount(p, BURNER), 60, "samples over several merged windows: " + threadCount(p, BURNER));
        assertTrue(s.finalStats().samples() >= p.totalCount());

        var files = s.writeTo(dir);
        assertTrue(files.contains(dir.resolve("profile.collapsed")));
        assertTrue(files.contains(dir.resolve("profile.json")));
        assertTrue(Files.readString(dir.resolve(ProfileReports.SUMMARY_FILE)).contains(BURNER));
        assertTrue(Files.size(dir.resolve("profile.collapsed")) > 0);
    }

    @Test
    void aRunnableThatThrowsReleasesTheSession() throws Exception {
        // Perf-map requests off: the symbolizer's jcmd child may outlive the session by a moment,
        // and its pipes would blur the fd count this test is about.
        ProfilerOptions options = ProfilerOptions.builder()
                .symbolizerOptions(SymbolizerOptions.defaults().withJvmPerfMaps(false)).build();
        Profiler.profile(options, () -> { }); // warm up: JNA, class loading, files the JVM keeps open
        long before = fdCount();
        var e = assertThrows(IllegalStateException.class,
                () -> Profiler.profile(options, () -> {
                    throw new IllegalStateException("boom");
                }));
        assertEquals("boom", e.getMessage());
        assertEquals(before, awaitFdCount(before), "no perf fd left open: " + fds());
    }

    @Test
    void aProcessThatDoesNotExistIsAClearError() {
        var e = assertThrows(ProfilerException.class,
                () -> Profiler.start(ProfilerOptions.builder().pid(999_999).build()));
        assertTrue(e.getMessage().toLowerCase().contains("no such process"), e.getMessage());
    }

    @Test
    void twoHundredStartStopCyclesLeakNoFdsMappingsOrThreads() throws Exception {
        try (Symbolizer shared = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false))) {
            ProfilerOptions options = ProfilerOptions.builder().symbolizer(shared).window(Duration.ofMillis(50))
                    .build();
            // warm up: class loading, JNA's own library, the symbolizer's first files
            for (int i = 0; i < 3; i++) {
                Profiler.start(options).stop();
            }
            long fds = fdCount();
            long tasks = taskCount();
            // The C heap is shared with the JVM (JIT arenas, GC), which moves it by megabytes on
            // its own; the minimum over a stretch of cycles filters that out. A leaked native
            // session (stack table chunk, slots, 64 KiB scratch: > 1 MiB) would add > 150 MiB.
            long heapEarly = Long.MAX_VALUE;
            long heapLate = Long.MAX_VALUE;
            long totalSamples = 0;
            for (int i = 0; i < 200; i++) {
                if (i >= 30 && i < 60) {
                    heapEarly = Math.min(heapEarly, NativeHeap.inUseBytes());
                } else if (i >= 170) {
                    heapLate = Math.min(heapLate, NativeHeap.inUseBytes());
                }
                ProfilingSession s = Profiler.start(options);
                long end = System.nanoTime() + 2_000_000;
                while (System.nanoTime() < end) {
                    Thread.onSpinWait(); // ~2 ms on CPU, so cycles take samples and drain real stacks
                }
                totalSamples += s.stop().totalCount();
            }
            assertEquals(0, perfMappings(), "no perf ring buffer left mapped");
            assertEquals(fds, awaitFdCount(fds), "fd count back to baseline after 200 cycles: " + fds());
            assertTrue(taskCount() <= tasks + 4, "threads: " + tasks + " before, " + taskCount() + " after");
            long growth = heapLate - heapEarly;
            assertTrue(growth < 32L << 20, "C heap grew by " + (growth >> 10) + " KiB between cycles 30..60 and 170..200");
            assertTrue(totalSamples > 0, "the cycles sampled something");
        }
    }

    static String fds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.map(p -> {
                try {
                    return p.getFileName() + "->" + Files.readSymbolicLink(p);
                } catch (IOException e) {
                    return p.getFileName() + "->?";
                }
            }).sorted().toList().toString();
        }
    }

    /**
     * The fd count once it is back to expected, or after 15 s. A symbolizer's perf-map request to
     * this JVM (a jcmd child) may still hold two pipes for a moment after close; they must go.
     */
    static long awaitFdCount(long expected) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 15_000_000_000L;
        long n = fdCount();
        while (n != expected && System.nanoTime() < deadline) {
            Thread.sleep(50);
            n = fdCount();
        }
        return n;
    }

    static long fdCount() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static long taskCount() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/task"))) {
            return s.count();
        }
    }

    private static long perfMappings() throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains("perf_event")).count();
        }
    }
}
