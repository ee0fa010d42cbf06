package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.stackstream.symbols.elf.ElfFile;
import dev.stackstream.symbols.proc.Mapping;
import dev.stackstream.symbols.proc.ProcMaps;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11's whole-profile naming failure: {@code stackstream record -- node --perf-basic-prof
 * fib.js} gave [unknown] for every leaf, libc's included, in 3 of 4 runs. Cause: the stacks of a
 * short command are drained and symbolized after it has exited but before it is reaped (a zombie);
 * a zombie's /proc/PID/maps is empty, and re-reading it replaced every mapping the sampler had
 * reported; its /proc/PID/root cannot be opened either, so its files and perf map were unreadable.
 *
 * <p>Reproduced as it happens in the collector: node runs under a parent that does not reap it, its
 * mappings are reported as the sampler reports them (path, range, offset, build-id: those in
 * /proc/PID/maps once it has loaded, as at attach, then every executable mapping the kernel reported
 * later, PERF_RECORD_MMAP2, taken here from perf's recording of the same run), perf samples it, and
 * perf's samples are symbolized once node is a zombie. Later mappings matter: V8 maps node's
 * embedded builtins a second time inside its code range ~0.1 s after start (a file mapping of
 * /usr/bin/node), and a /proc read that came before it left builtins such as
 * {@code Builtins_SubtractSmi_Baseline} without a module (2 leaves in one CI run). The leaves must be
 * named at least as often as perf names the same samples of the same run (perf reads the files and
 * the perf map after the run; so do we, here), less one percentage point for corner cases such as a
 * leaf on a PLT stub, and no more of them may be outside every module than perf has in no DSO. How
 * much of a run is in JIT code varies with the load (88-99 % here: the optimizing compiler's thread
 * competes for the CPU), so each run is held to perf's rates on its own samples.
 */
class ExitedTargetsTest {
    /**
     * The failure was seen in 3 of 4 runs. Should a fix leave it at even 1 in 4, twelve runs all
     * pass with probability 0.75^12 ≈ 3 %.
     */
    private static final int RUNS = Integer.getInteger("exitedRuns", 12);
    private static final String FIB = """
            function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
            setTimeout(() => { for (let i = 0; i < 4; i++) fib(35); }, 300);
            """;

    @TempDir
    Path dir;

    @Test
    void nodeIsNamedAfterItExitedAsOftenAsPerfNamesIt() throws Exception {
        assumeTrue(TestPrograms.onPath("node"), "node not installed");
        assumeTrue(PerfRecording.perfAvailable(), "perf not installed (Debian package linux-perf)");
        Path js = dir.resolve("fib.js");
        Files.writeString(js, FIB);
        Map<String, byte[]> buildIds = new HashMap<>();
        List<String> results = new ArrayList<>();
        for (int run = 1; run <= RUNS; run++) {
            results.add(oneRun(run, js, buildIds));
        }
        System.out.println("node after exit, named leaves ours vs perf:\n  " + String.join("\n  ", results));
    }

    private String oneRun(int run, Path js, Map<String, byte[]> buildIds) throws Exception {
        // The shell execs sleep: node's parent never reaps it, so it stays a zombie once done. The
        // subshell that becomes node waits for a line on a FIFO, so perf samples it from its exec.
        Path go = dir.resolve("go.fifo");
        Files.deleteIfExists(go);
        assertEquals(0, new ProcessBuilder("mkfifo", go.toString()).inheritIO().start().waitFor(), "mkfifo");
        Process holder = new ProcessBuilder("sh", "-c", "(read go < \"$0\"; exec node --perf-basic-prof \"$1\")"
                + " >/dev/null 2>&1 & echo $!; exec sleep 600", go.toString(), js.toString())
                .redirectErrorStream(true).start();
        int pid = Integer.parseInt(new BufferedReader(new InputStreamReader(holder.getInputStream(),
                StandardCharsets.UTF_8)).readLine().trim());
        Path perfMap = Path.of("/tmp/perf-" + pid + ".map");
        Path data = dir.resolve("run" + run + ".data");
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false));
             PerfRecorder perf = PerfRecorder.start(List.of("-e", "cpu-clock", "-F", "999", "-g"), pid, data, dir)) {
            Files.writeString(go, "go\n");
            reportMappingsOnceLoaded(s, pid, buildIds);
            assertTrue(perf.waitFor(120), "perf ends when node exits: " + perf.log());
            assertEquals("Z", state(pid), "node is a zombie while its stacks are symbolized");
            PerfRecording rec = PerfRecording.readLeaves(data, true);
            reportLaterMappings(s, pid, rec, buildIds);
            // A frame-pointer walk through code built without frame pointers yields addresses in
            // no mapping (garbage read from the stack): the first one makes the symbolizer re-read
            // /proc/PID/maps — of a zombie, where it is empty.
            s.symbolize(pid, new long[] {0x10, 0x6679726b64777068L}, 0);
            PerfRecording.Ours ours = rec.symbolize(s);
            long n = rec.samples.size();
            assertTrue(n >= 100, "samples: " + n);
            assertEquals(n, rec.perfLeaves, "perf named each of its samples' leaves");
            double mine = (double) ours.namedLeaves() / n;
            double inMap = (double) ours.perfMapNamedLeaves() / n;
            double perfNamed = (double) rec.perfNamedLeaves / n;
            double perfInMap = (double) rec.perfMapNamedLeaves / n;
            String line = String.format("run %d: %d samples, named leaves %.1f %% (perf %.1f %%), named"
                            + " through the perf map %.1f %% (perf %.1f %%), without a module %d (perf %d)", run, n,
                    100 * mine, 100 * perfNamed, 100 * inMap, 100 * perfInMap, ours.leavesWithoutModule(),
                    rec.perfLeavesWithoutDso);
            assertTrue(mine >= perfNamed - 0.01, line + "; stats " + s.stats());
            assertTrue(inMap >= perfInMap - 0.01, line);
            assertTrue(ours.leavesWithoutModule() <= rec.perfLeavesWithoutDso, line);
            return line;
        } finally {
            holder.destroyForcibly(); // node is reparented and reaped
            holder.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(perfMap);
        }
    }

    /**
     * Waits until node has loaded its libraries and opened its perf map, then reports its executable
     * mappings as the sampler does (from /proc/PID/maps at attach, with each file's build-id).
     */
    private static void reportMappingsOnceLoaded(Symbolizer s, int pid, Map<String, byte[]> buildIds)
            throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<Mapping> maps = List.of();
        while (System.nanoTime() < end) {
            maps = ProcMaps.read(Path.of("/proc"), pid);
            if (maps.stream().anyMatch(m -> m.path().endsWith("/libc.so.6"))
                    && Files.exists(Path.of("/tmp/perf-" + pid + ".map"))) {
                break;
            }
            Thread.sleep(10); // node is starting; nothing to inject a clock into
        }
        for (Mapping m : maps) {
            byte[] id = m.isFile() ? buildIds.computeIfAbsent(m.path(), ExitedTargetsTest::buildId) : null;
            s.onMapping(pid, m.start(), m.end() - m.start(), m.fileOffset(), m.path().isEmpty() ? "//anon" : m.path(),
                    id);
        }
    }

    /**
     * Reports the executable mappings the kernel recorded after the attach-time read, as the
     * sampler passes on its PERF_RECORD_MMAP2 records (those perf synthesized from /proc at its
     * start are reported again: the symbolizer takes a mapping it knows as it is).
     */
    private static void reportLaterMappings(Symbolizer s, int pid, PerfRecording rec, Map<String, byte[]> buildIds) {
        for (PerfRecording.ExecMapping m : rec.execMappings) {
            if (m.pid() != pid) {
                continue;
            }
            boolean file = m.path().startsWith("/");
            byte[] id = file ? buildIds.computeIfAbsent(m.path(), ExitedTargetsTest::buildId) : null;
            s.onMapping(pid, m.start(), m.length(), m.fileOffset(), m.path(), id);
        }
    }

    private static byte[] buildId(String path) {
        try (FileChannel ch = FileChannel.open(Path.of(path), StandardOpenOption.READ)) {
            return ElfFile.parse(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size())).buildId();
        } catch (Exception e) {
            return null;
        }
    }

    private static String state(int pid) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }
}
