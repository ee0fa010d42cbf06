package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.symbols.jit.PerfMapFile;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target in its own mount and pid namespaces, as in a container: its binary exists only inside
 * its mount namespace (a private tmpfs), and its perf map is /tmp/perf-<pid in its namespace>.map
 * in its own private /tmp. Needs root and util-linux's unshare.
 */
class NamespaceTest {
    @TempDir
    Path dir;

    @Test
    void binaryAndPerfMapAreFoundThroughTheTargetsRoot() throws Exception {
        assumeTrue(TestPrograms.onPath("unshare"), "unshare (util-linux) missing");
        assumeTrue(Files.readString(Path.of("/proc/self/status")).lines().anyMatch(l -> l.matches("Uid:\\s+0\\s.*")),
                "needs root for mount and pid namespaces");
        Path program = TestPrograms.compile(dir, "contained", TestPrograms.C_SOURCE, false);
        // Outside /tmp, which the target gets a private copy of.
        Path mnt = Files.createTempDirectory(Path.of("/var/tmp"), "stackstream-ns");
        String script = "mount -t tmpfs tmpfs " + mnt + " && cp " + program + " " + mnt + "/contained"
                + " && mount -t tmpfs tmpfs /tmp && printf '0x1000 0x10 LInside;jit()V\\n' > /tmp/perf-$$.map"
                + " && exec " + mnt + "/contained";
        Process p = new ProcessBuilder("unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation",
                "private", "sh", "-c", script).redirectErrorStream(true).start();
        int pid = -1;
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false).withKernel(false))) {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = r.readLine();
            assertTrue(line != null && line.startsWith("0x"), "program output: " + line);
            long[] a = java.util.Arrays.stream(line.trim().split("\\s+"))
                    .mapToLong(x -> Long.parseUnsignedLong(x.substring(2), 16)).toArray();
            pid = childOf((int) p.pid());
            Path inside = mnt.resolve("contained");
            assertFalse(Files.exists(inside), "the binary is invisible from our mount namespace");
            Frame f = s.symbolize(pid, new long[] {a[0] + 2}, 0).get(0);
            assertEquals("hidden_work", f.function());
            assertEquals(inside.toString(), f.module(), "the path as the target sees it");
            assertEquals("main", s.symbolize(pid, new long[] {a[2]}, 0).get(0).function());

            int nspid = PerfMapFile.nsPid(Path.of("/proc"), pid);
            assertTrue(nspid != pid, "the target has its own pid namespace");
            Path map = PerfMapFile.locate(Path.of("/proc"), pid);
            assertEquals(Path.of("/proc/" + pid + "/root/tmp/perf-" + nspid + ".map"), map);
            PerfMapFile pm = new PerfMapFile(map, 0, Ticker.system(), (c, m) -> { });
            assertEquals("LInside;jit()V", pm.current().nameAt(0x1008));
        } finally {
            if (pid > 0) {
                // The target is pid 1 of its namespace, not our child: end it by its host pid.
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
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
