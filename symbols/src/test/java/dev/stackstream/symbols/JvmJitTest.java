package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Java 17 program run with -XX:+PreserveFramePointer: the symbolizer detects the JVM, has it
 * write its perf map through {@code Compiler.perfmap} sent over HotSpot's attach protocol by our
 * own code (no jcmd is run), and names its JIT-compiled methods. A JVM of another user (nobody)
 * answers the collector's (root's) request too.
 * With perf as the sampler, at least 95 % of the samples that land in JIT code are named.
 */
class JvmJitTest {
    static final String HOT = """
            public class Hot {
                static long spin(long n) { long x = n; for (long i = 0; i < n; i++) { x = x * 6364136223846793005L + i; } return x; }
                static double mix(int n) { double d = 0; for (int i = 1; i < n; i++) { d += Math.sqrt(i) / i; } return d; }
                public static void main(String[] a) {
                    long s = 0;
                    System.out.println("ready");
                    while (true) { s += spin(100000); s += (long) mix(50000); if (s == 42) System.out.println(s); }
                }
            }
            """;

    @TempDir
    Path dir;

    /** Starts the hot program with PreserveFramePointer and waits until it prints "ready". */
    static Process startHot(Path dir) throws Exception {
        Path src = dir.resolve("Hot.java");
        Files.writeString(src, HOT);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        TestPrograms.run(List.of(Path.of(System.getProperty("java.home"), "bin", "javac").toString(), "-d",
                dir.toString(), src.toString()));
        Process p = new ProcessBuilder(java.toString(), "-XX:+PreserveFramePointer", "-Xmx64m", "-cp",
                dir.toString(), "Hot").redirectErrorStream(true).start();
        String first = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
        assertEquals("ready", first);
        return p;
    }

    /** Polls until the perf map of pid lists a method named like the fragment. */
    static List<String[]> awaitMapEntries(Path map, String fragment, Duration timeout) throws Exception {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (Files.exists(map)) {
                List<String[]> hits = new ArrayList<>();
                for (String line : Files.readAllLines(map)) {
                    String[] f = line.split(" ", 3);
                    if (f.length == 3 && f[2].contains(fragment)) {
                        hits.add(f);
                    }
                }
                if (!hits.isEmpty()) {
                    return hits;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no '" + fragment + "' in " + map + " after " + timeout);
    }

    @Test
    void jitMethodsAreNamedThroughTheRequestedPerfMap() throws Exception {
        Process p = startHot(dir);
        int pid = (int) p.pid();
        Path map = Path.of("/tmp/perf-" + pid + ".map");
        AdvancingTicker ticker = new AdvancingTicker();
        SymbolizerOptions opts = SymbolizerOptions.defaults().withJcmdInterval(Duration.ofSeconds(2))
                .withPerfMapRefresh(Duration.ofMillis(100)).withExitGrace(Duration.ZERO).withTicker(ticker);
        try (Symbolizer s = Symbolizers.create(opts)) {
            Thread.sleep(1500); // let C1/C2 compile spin and mix
            // Any lookup reads the maps, sees libjvm.so and starts the jcmd requests.
            s.symbolize(pid, new long[] {0x1000}, 0);
            List<String[]> spin = awaitMapEntries(map, "Hot.spin(", Duration.ofSeconds(40));
            List<String[]> mix = awaitMapEntries(map, "Hot.mix(", Duration.ofSeconds(40));
            for (List<String[]> entries : List.of(spin, mix)) {
                for (String[] e : entries) {
                    long start = Long.decode(e[0]);
                    long size = Long.decode(e[1]);
                    // The symbolizer may have loaded an older snapshot: one refresh interval on, it
                    // re-checks the file, which already lists the entry.
                    Frame f = s.symbolize(pid, new long[] {start + size / 2}, 0).get(0);
                    if (!e[2].equals(f.function())) {
                        ticker.advance(Duration.ofMillis(100));
                        f = s.symbolize(pid, new long[] {start + size / 2}, 0).get(0);
                    }
                    assertEquals(e[2], f.function(), "JIT code at " + e[0]);
                    assertEquals(FrameKind.JIT, f.kind());
                    assertEquals("/tmp/perf-" + pid + ".map", f.module());
                }
            }
            SymbolizerStats st = s.stats();
            assertEquals(1, st.jvmTargets());
            assertTrue(st.jcmdRuns() >= 1);
            assertTrue(st.notes().stream().anyMatch(n -> n.contains("pid " + pid)
                    && n.contains("-XX:+PreserveFramePointer is set")), st.notes().toString());
            // Once the JVM is gone (and the grace period, here zero, is over), the map file our
            // requests made it write is removed.
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            assertTrue(Files.exists(map));
            s.onProcessExit(pid);
            ticker.advance(Duration.ofMillis(1));
            s.onProcessExit(pid);
            assertFalse(Files.exists(map), "perf map of the exited JVM removed");
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(map);
        }
    }

    @Test
    void anotherUsersJvmAnswersTheCollectorsOwnAttachRequest() throws Exception {
        Path setpriv = Path.of("/usr/bin/setpriv");
        assumeTrue(Files.isExecutable(setpriv), "setpriv (util-linux) missing");
        assumeTrue(Files.readString(Path.of("/proc/self/status")).lines()
                .anyMatch(l -> l.matches("Uid:\\s+0\\s.*")), "needs root to start a JVM as another user");
        Files.writeString(dir.resolve("Hot.java"), HOT);
        TestPrograms.run(List.of(Path.of(System.getProperty("java.home"), "bin", "javac").toString(), "-d",
                dir.toString(), dir.resolve("Hot.java").toString()));
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Process p = new ProcessBuilder(setpriv.toString(), "--reuid=65534", "--regid=65534", "--clear-groups",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+PreserveFramePointer",
                "-Xmx64m", "-cp", dir.toString(), "Hot").redirectErrorStream(true).start();
        int pid = (int) p.pid(); // setpriv execs java: same pid
        Path map = Path.of("/tmp/perf-" + pid + ".map");
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJcmdInterval(Duration.ofSeconds(2)))) {
            assertEquals("ready", new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine());
            s.symbolize(pid, new long[] {0x1000}, 0);
            awaitMapEntries(map, "Hot.spin(", Duration.ofSeconds(40));
            assertEquals(0, s.stats().jcmdFailures(), s.stats().warnings().toString());
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(map);
        }
    }

    @Test
    void atLeast95PercentOfSamplesInJitCodeAreNamed() throws Exception {
        assumeTrue(PerfRecording.perfAvailable(), "perf not installed (Debian package linux-perf)");
        Process p = startHot(dir);
        int pid = (int) p.pid();
        Path map = Path.of("/tmp/perf-" + pid + ".map");
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJcmdInterval(Duration.ofSeconds(1))
                .withPerfMapRefresh(Duration.ofMillis(100)))) {
            Thread.sleep(1500);
            s.symbolize(pid, new long[] {0x1000}, 0);
            awaitMapEntries(map, "Hot.spin(", Duration.ofSeconds(40));
            awaitMapEntries(map, "Hot.mix(", Duration.ofSeconds(40));
            PerfRecording rec = PerfRecording.record(pid, 2, dir);
            Thread.sleep(1500); // one more snapshot after the recording ended
            PerfRecording.Ours ours = rec.symbolize(s);
            JitCoverage cov = JitCoverage.of(ours.stacks);
            System.out.println("JIT coverage: " + cov);
            assertTrue(cov.jitLeaves() >= 100, "samples in JIT code: " + cov);
            assertTrue(cov.namedFraction() >= 0.95, cov.toString());
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(map);
        }
    }
}
