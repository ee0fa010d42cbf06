package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.symbols.jit.PerfMapFile;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Targets that try to make the collector (root, in a shared pid namespace) hang, run out of heap,
 * read what is not theirs or run their programs. Each case asserts the symbolizer answers, keeps
 * naming the target's own frames, and counts the problem. {@code assertTimeoutPreemptively} is a
 * hang guard (the old behaviour on a FIFO was to block forever), not a measurement.
 * A target in another mount namespace whose perf map links out of its root: {@link NamespaceTest}.
 */
class HostileTargetsTest {
    private static final Duration HANG_GUARD = Duration.ofSeconds(60);
    /** An address in no mapping: it is looked up in the perf map. */
    private static final long NOWHERE = 0x1008;

    @TempDir
    Path dir;

    private static void assumeRoot() throws Exception {
        assumeTrue(Files.readString(Path.of("/proc/self/status")).lines().anyMatch(l -> l.matches("Uid:\\s+0\\s.*")),
                "needs root (the collector's situation: mkfifo in /tmp, other users' processes)");
    }

    private static SymbolizerOptions options() {
        return SymbolizerOptions.defaults().withKernel(false).withJvmPerfMaps(false);
    }

    /** Symbolizes the target's own hidden_work and an address its perf map would name. */
    private static Frame[] lookups(Symbolizer s, TestPrograms.Running r) {
        return assertTimeoutPreemptively(HANG_GUARD, () -> new Frame[] {
                s.symbolize(r.pid(), new long[] {r.addresses()[0] + 2}, 0).get(0),
                s.symbolize(r.pid(), new long[] {NOWHERE}, 0).get(0)});
    }

    /** A perf map that is not a regular file: refused at once, the target's own frames still named. */
    private void assertRefused(String name, PerfMapSetup setup) throws Exception {
        assumeRoot();
        Path program = TestPrograms.compile(dir, name, TestPrograms.C_SOURCE, false);
        try (TestPrograms.Running r = TestPrograms.start(program);
             Symbolizer s = Symbolizers.create(options())) {
            Path map = Path.of("/tmp/perf-" + r.pid() + ".map");
            setup.create(map);
            try {
                Frame[] f = lookups(s, r);
                assertEquals("hidden_work", f[0].function());
                assertNull(f[1].function());
                assertTrue(s.stats().warnings().containsKey("perf-map-refused"), s.stats().toString());
            } finally {
                Files.deleteIfExists(map);
            }
        }
    }

    @FunctionalInterface
    private interface PerfMapSetup {
        void create(Path map) throws Exception;
    }

    @Test
    void aFifoPerfMapIsRefusedWithoutBlocking() throws Exception {
        assertRefused("fifo", map -> TestPrograms.run(List.of("mkfifo", map.toString())));
    }

    @Test
    void aPerfMapLinkedToDevZeroIsRefused() throws Exception {
        assertRefused("zero", map -> Files.createSymbolicLink(map, Path.of("/dev/zero")));
    }

    /**
     * One named line, then 64 MiB without a newline (a sparse file: an endless line of NULs), then a
     * line the size bound keeps out: the first line names its code, the endless one costs at most the
     * line bound, and reading stops at the size bound.
     */
    @Test
    void anEndlessLineAndAnOversizedMapAreReadWithinTheirBounds() throws Exception {
        assumeRoot();
        Path program = TestPrograms.compile(dir, "endless", TestPrograms.C_SOURCE, false);
        PerfMapFile.Limits limits = new PerfMapFile.Limits(1 << 20, 1024);
        try (TestPrograms.Running r = TestPrograms.start(program);
             Symbolizer s = Symbolizers.create(options().withPerfMapLimits(limits))) {
            Path map = Path.of("/tmp/perf-" + r.pid() + ".map");
            try (RandomAccessFile f = new RandomAccessFile(map.toFile(), "rw")) {
                f.write("1000 10 first\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                f.seek(64L << 20);
                f.write("\n2000 10 beyond\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
            try {
                Frame[] f = lookups(s, r);
                assertEquals("hidden_work", f[0].function());
                assertEquals("first", f[1].function());
                Frame beyond = s.symbolize(r.pid(), new long[] {0x2008}, 0).get(0);
                assertNull(beyond.function(), "past the size bound");
                assertTrue(s.stats().warnings().containsKey("perf-map-too-large"), s.stats().toString());
            } finally {
                Files.deleteIfExists(map);
            }
        }
    }

    /**
     * A process of user nobody links its perf map to a root-only file whose lines look like a perf
     * map: reading it would copy the collector's secret into profiles. The owner check refuses it
     * (perf's rule: the map must belong to the process's user).
     */
    @Test
    void anotherUsersMapLinkedToARootOnlyFileIsRefused() throws Exception {
        assumeRoot();
        assumeTrue(TestPrograms.onPath("setpriv"), "setpriv (util-linux) missing");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path program = TestPrograms.compile(dir, "nobody", TestPrograms.C_SOURCE, false);
        Path secret = dir.resolve("root-only.map");
        Files.writeString(secret, "1000 10 RootsSecret\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        try (TestPrograms.Running r = TestPrograms.start(new ProcessBuilder("setpriv", "--reuid=65534",
                "--regid=65534", "--clear-groups", program.toString()));
             Symbolizer s = Symbolizers.create(options())) {
            Path map = Path.of("/tmp/perf-" + r.pid() + ".map");
            Files.createSymbolicLink(map, secret);
            try {
                Frame[] f = lookups(s, r);
                assertEquals("hidden_work", f[0].function());
                assertNull(f[1].function(), "the root-owned file behind the link is not read");
                assertTrue(s.stats().warnings().containsKey("perf-map-refused"), s.stats().toString());
            } finally {
                Files.deleteIfExists(map);
            }
        }
    }

    /**
     * A process maps a file named libjvm.so, has a {@code jcmd} next to its executable that would
     * leave a marker, and catches SIGQUIT (so the attach request goes all the way: trigger file,
     * signal, waiting for a socket that never comes). The fake jcmd never runs; the process is not
     * harmed; its frames are still named; the failed attach is counted. A second process maps the
     * fake libjvm.so without catching SIGQUIT: it is not signalled at all (SIGQUIT would kill it).
     */
    @Test
    void aFakeJvmsJcmdNeverRuns() throws Exception {
        assumeRoot();
        Path bin = Files.createDirectories(dir.resolve("jdk/bin"));
        Path lib = Files.createDirectories(dir.resolve("jdk/lib/server"));
        Path marker = dir.resolve("jcmd-ran");
        Path java = TestPrograms.compile(bin, "java", TestPrograms.C_SOURCE, false);
        Path jcmd = bin.resolve("jcmd");
        Files.writeString(jcmd, "#!/bin/sh\ntouch " + marker + "\n");
        Files.setPosixFilePermissions(jcmd, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path fakeJvm = TestPrograms.compile(lib, "fakejvm", """
                #include <signal.h>
                #include <stdlib.h>
                static void on_quit(int sig) { (void) sig; }
                __attribute__((constructor)) static void init(void) {
                    if (getenv("FAKE_CATCHES_QUIT")) signal(SIGQUIT, on_quit);
                }
                """, false, "-shared", "-fPIC");
        Path libjvm = Files.move(fakeJvm, lib.resolve("libjvm.so"));
        SymbolizerOptions opts = SymbolizerOptions.defaults().withKernel(false)
                .withJcmdInterval(Duration.ofMillis(500)).withJcmdTimeout(Duration.ofMillis(500));
        ProcessBuilder catching = new ProcessBuilder(java.toString());
        catching.environment().putAll(Map.of("LD_PRELOAD", libjvm.toString(), "FAKE_CATCHES_QUIT", "1"));
        ProcessBuilder plain = new ProcessBuilder(java.toString());
        plain.environment().put("LD_PRELOAD", libjvm.toString());
        try (TestPrograms.Running quits = TestPrograms.start(catching);
             TestPrograms.Running dies = TestPrograms.start(plain);
             Symbolizer s = Symbolizers.create(opts)) {
            Frame[] f = lookups(s, quits);
            assertEquals("hidden_work", f[0].function());
            assertEquals("hidden_work", lookups(s, dies)[0].function());
            long end = System.nanoTime() + HANG_GUARD.toNanos();
            while (s.stats().jcmdFailures() < 2 && System.nanoTime() < end) {
                Thread.sleep(50); // the attach requests run on the symbolizer's own thread
            }
            SymbolizerStats st = s.stats();
            assertEquals(2, st.jvmTargets(), st.toString());
            assertTrue(st.jcmdFailures() >= 2, st.toString());
            assertTrue(st.warnings().containsKey("jcmd-failed"), "the catching one was asked and failed: " + st);
            assertTrue(st.warnings().containsKey("jvm-attach-skipped"), "the other one was not signalled: " + st);
            assertFalse(Files.exists(marker), "the target's jcmd must never run");
            assertTrue(quits.process().isAlive() && dies.process().isAlive(), "neither target was harmed");
            assertFalse(Files.exists(Path.of("/tmp/.attach_pid" + quits.pid())), "our trigger file is removed");
            assertEquals("hidden_work", s.symbolize(quits.pid(), new long[] {quits.addresses()[0] + 2}, 0)
                    .get(0).function(), "still naming after the failed attach");
        }
    }
}
