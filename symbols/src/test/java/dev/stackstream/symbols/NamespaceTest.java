package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.symbols.jit.PerfMapFile;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target in its own mount and pid namespaces, as in a container: its binary exists only inside
 * its mount namespace (a private tmpfs), and its perf map is /tmp/perf-<pid in its namespace>.map
 * in its own private /tmp, and a symlink there cannot lead the collector out of it. Needs root and
 * util-linux's unshare.
 */
class NamespaceTest {
    @TempDir
    Path dir;

    @Test
    void binaryAndPerfMapAreFoundThroughTheTargetsRoot() throws Exception {
        try (Contained c = Contained.start(dir, "printf '0x1000 0x10 LInside;jit()V\\n' > /tmp/perf-$$.map");
             Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false).withKernel(false))) {
            int pid = c.pid;
            Path inside = c.mnt.resolve("contained");
            assertFalse(Files.exists(inside), "the binary is invisible from our mount namespace");
            Frame f = s.symbolize(pid, new long[] {c.addresses[0] + 2}, 0).get(0);
            assertEquals("hidden_work", f.function());
            assertEquals(inside.toString(), f.module(), "the path as the target sees it");
            assertEquals("main", s.symbolize(pid, new long[] {c.addresses[2]}, 0).get(0).function());

            int nspid = PerfMapFile.nsPid(Path.of("/proc"), pid);
            assertTrue(nspid != pid, "the target has its own pid namespace");
            Path map = PerfMapFile.locate(Path.of("/proc"), pid);
            assertEquals(Path.of("/proc/" + pid + "/root/tmp/perf-" + nspid + ".map"), map);
            PerfMapFile pm = PerfMapFile.ofProcess(Path.of("/proc"), pid, 0, Ticker.system(), PerfMapFile.Limits.DEFAULT,
                    (cause, m) -> { });
            assertEquals("LInside;jit()V", pm.current().nameAt(0x1008));
            pm.close();
            // The symbolizer names an address outside every mapping through the same map.
            Frame jit = s.symbolize(pid, new long[] {0x1008}, 0).get(0);
            assertEquals("LInside;jit()V", jit.function());
            assertEquals("/tmp/perf-" + nspid + ".map", jit.module(), "the map's name inside the target");
        }
    }

    /**
     * A target whose perf map is an absolute symlink to a file that exists only in the collector's
     * root: following it from /proc/PID/root would read the collector's file (the kernel resolves an
     * absolute link against the reader's root). It must be resolved inside the target's root, where
     * the link leads nowhere.
     */
    @Test
    void aPerfMapSymlinkCannotLeaveTheTargetsRoot() throws Exception {
        // Our /tmp: the target mounts its own tmpfs over /tmp, so it cannot see this file.
        Path outside = Files.createTempFile(Path.of("/tmp"), "stackstream-outside", ".map");
        Files.writeString(outside, "0x1000 0x10 CollectorsOwnSecret\n");
        List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (Contained c = Contained.start(dir, "ln -s " + outside + " /tmp/perf-$$.map");
             Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false).withKernel(false))) {
            Frame f = s.symbolize(c.pid, new long[] {0x1008}, 0).get(0);
            assertNull(f.function(), "a file outside the target's root is never read: " + f);
            assertEquals("hidden_work", s.symbolize(c.pid, new long[] {c.addresses[0] + 2}, 0).get(0).function(),
                    "the target's own frames are still named");
            PerfMapFile pm = PerfMapFile.ofProcess(Path.of("/proc"), c.pid, 0, Ticker.system(),
                    PerfMapFile.Limits.DEFAULT, (cause, m) -> warnings.add(cause));
            assertNull(pm.current(), "inside the target's root the link leads nowhere");
            pm.close();
        } finally {
            Files.deleteIfExists(outside);
        }
    }

    /** A program in private mount and pid namespaces; its binary on a tmpfs only it sees. */
    private static final class Contained implements AutoCloseable {
        final Process unshare;
        final int pid;
        final Path mnt;
        final long[] addresses;

        private Contained(Process unshare, int pid, Path mnt, long[] addresses) {
            this.unshare = unshare;
            this.pid = pid;
            this.mnt = mnt;
            this.addresses = addresses;
        }

        /** Starts the program after running perfMapSetup (sh, $$ = its pid inside) in its private /tmp. */
        static Contained start(Path dir, String perfMapSetup) throws Exception {
            assumeTrue(TestPrograms.onPath("unshare"), "unshare (util-linux) missing");
            assumeTrue(Files.readString(Path.of("/proc/self/status")).lines()
                    .anyMatch(l -> l.matches("Uid:\\s+0\\s.*")), "needs root for mount and pid namespaces");
            Path program = TestPrograms.compile(dir, "contained", TestPrograms.C_SOURCE, false);
            // Outside /tmp, which the target gets a private copy of.
            Path mnt = Files.createTempDirectory(Path.of("/var/tmp"), "stackstream-ns");
            String script = "mount -t tmpfs tmpfs " + mnt + " && cp " + program + " " + mnt + "/contained"
                    + " && mount -t tmpfs tmpfs /tmp && " + perfMapSetup + " && exec " + mnt + "/contained";
            Process p = new ProcessBuilder("unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
                    "--propagation", "private", "sh", "-c", script).redirectErrorStream(true).start();
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = r.readLine();
            assertTrue(line != null && line.startsWith("0x"), "program output: " + line);
            long[] a = java.util.Arrays.stream(line.trim().split("\\s+"))
                    .mapToLong(x -> Long.parseUnsignedLong(x.substring(2), 16)).toArray();
            return new Contained(p, childOf((int) p.pid()), mnt, a);
        }

        @Override
        public void close() throws Exception {
            // The target is pid 1 of its namespace, not our child: end it by its host pid.
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            unshare.destroyForcibly();
            unshare.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(mnt);
        }
    }

    /** The (single) child of pid: unshare --fork runs the target as its child. */
    private static int childOf(int pid) throws Exception {
        for (int i = 0; i < 50; i++) {
            for (Path task : Files.newDirectoryStream(Path.of("/proc/" + pid + "/task"))) {
                String children = Files.readString(task.resolve("children")).trim();
                if (!children.isEmpty()) {
                    return Integer.parseInt(children.split("\\s+")[0]);
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("unshare started no child");
    }
}
