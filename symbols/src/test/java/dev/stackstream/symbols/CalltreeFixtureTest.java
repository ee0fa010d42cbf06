package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native fixture {@code calltree} (built by the native module) resolves 100 %: its functions'
 * addresses are computed independently of our ELF reader (binutils' nm and readelf plus the
 * process's /proc/PID/maps), then symbolized at their first byte, middle and last byte, as leaf and
 * as caller; and every frame perf records in the fixture's module is named.
 */
class CalltreeFixtureTest {
    private static final List<String> FUNCTIONS = List.of("main", "a", "b", "c");

    @TempDir
    Path dir;

    static Path fixture() {
        String nativeDir = System.getProperty("stackstream.native.dir", "../native/target/native");
        Path p = Path.of(nativeDir, "fixtures", "calltree");
        assumeTrue(Files.isExecutable(p), "native fixture not built yet: " + p + " (mvn -pl native install)");
        return p.toAbsolutePath().normalize();
    }

    /** name -> {link-time address, size} from nm. */
    static Map<String, long[]> nm(Path binary) throws Exception {
        Map<String, long[]> out = new HashMap<>();
        for (String line : TestPrograms.output(List.of("nm", "-S", "--defined-only", binary.toString())).split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 4 && (f[2].equals("T") || f[2].equals("t"))) {
                out.put(f[3], new long[] {Long.parseUnsignedLong(f[0], 16), Long.parseUnsignedLong(f[1], 16)});
            }
        }
        return out;
    }

    /** PT_LOAD {offset, vaddr, filesz} from readelf. */
    static List<long[]> loads(Path binary) throws Exception {
        List<long[]> out = new ArrayList<>();
        for (String line : TestPrograms.output(List.of("readelf", "-lW", binary.toString())).split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6 && f[0].equals("LOAD")) {
                out.add(new long[] {Long.decode(f[1]), Long.decode(f[2]), Long.decode(f[4])});
            }
        }
        return out;
    }

    /** The runtime address of a link-time address in pid, through maps and the PT_LOAD headers. */
    static long runtime(int pid, Path binary, List<long[]> loads, long vaddr) throws Exception {
        long fileOffset = -1;
        for (long[] l : loads) {
            if (vaddr >= l[1] && vaddr < l[1] + l[2]) {
                fileOffset = vaddr - l[1] + l[0];
            }
        }
        assertTrue(fileOffset >= 0, "vaddr in a PT_LOAD");
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 6 && f[5].equals(binary.toString())) {
                long start = Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16);
                long end = Long.parseUnsignedLong(f[0].substring(f[0].indexOf('-') + 1), 16);
                long off = Long.parseUnsignedLong(f[2], 16);
                if (fileOffset >= off && fileOffset < off + (end - start)) {
                    return start + fileOffset - off;
                }
            }
        }
        throw new AssertionError("file offset " + fileOffset + " not mapped in " + pid);
    }

    @Test
    void everyFunctionResolvesAtStartMiddleAndEnd() throws Exception {
        Path fixture = fixture();
        assumeTrue(TestPrograms.onPath("nm") && TestPrograms.onPath("readelf"), "binutils not installed");
        Map<String, long[]> syms = nm(fixture);
        List<long[]> loads = loads(fixture);
        Process p = new ProcessBuilder(fixture.toString(), "60").start();
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false))) {
            int pid = (int) p.pid();
            Thread.sleep(100);
            int checked = 0;
            for (String fn : FUNCTIONS) {
                long[] sym = syms.get(fn);
                assertTrue(sym != null && sym[1] > 1, fn + " in the fixture's symbol table");
                long start = runtime(pid, fixture, loads, sym[0]);
                long[] leaves = {start, start + sym[1] / 2, start + sym[1] - 1};
                for (long ip : leaves) {
                    Frame f = s.symbolize(pid, new long[] {ip}, 0).get(0);
                    assertEquals(fn, f.function(), "leaf at " + Long.toHexString(ip));
                    assertEquals(fixture.toString(), f.module());
                    assertEquals(FrameKind.USER, f.kind());
                    checked++;
                }
                // As a caller, the return address may be one past the function's last byte.
                List<Frame> st = s.symbolize(pid, new long[] {start, start + sym[1], start + 1}, 0);
                assertEquals(fn, st.get(1).function(), "return address just past the end of " + fn);
                assertEquals(fn, st.get(0).function(), "return address inside " + fn);
                assertEquals(fn, st.get(2).function(), "leaf at the first byte");
                checked += 3;
            }
            assertEquals(FUNCTIONS.size() * 6, checked);
            SymbolizerStats stats = s.stats();
            assertEquals(0, stats.unresolved(), stats.toString());
            assertEquals(checked, stats.resolved());
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void everySampledFrameInTheFixtureIsNamed() throws Exception {
        Path fixture = fixture();
        assumeTrue(PerfRecording.perfAvailable(), "perf not installed (Debian package linux-perf)");
        Process p = new ProcessBuilder(fixture.toString(), "60").start();
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false))) {
            Thread.sleep(100);
            PerfRecording rec = PerfRecording.record((int) p.pid(), 1.5, dir);
            PerfRecording.Ours ours = rec.symbolize(s);
            long inFixture = 0;
            Map<String, Integer> seen = new HashMap<>();
            for (List<Frame> stack : ours.stacks) {
                for (Frame f : stack) {
                    if (fixture.toString().equals(f.module())) {
                        inFixture++;
                        assertTrue(f.isResolved(), "fixture frame unnamed: " + f);
                        seen.merge(f.function(), 1, Integer::sum);
                    }
                }
            }
            assertTrue(inFixture > 500, "fixture frames sampled: " + inFixture);
            assertTrue(seen.keySet().containsAll(List.of("main", "b", "c")), seen.toString());
            PerfComparisonTest.compare("calltree", rec, ours);
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
    /**
     * Stacks are often drained after their process has exited (short-lived children, the last
     * window of a record). Its /proc entry is gone, so the symbolizer reads the binary from our own
     * namespace, but only when the kernel's build-id proves it is the file that was mapped; a
     * mismatch leaves the frame unresolved rather than naming it from another binary.
     */
    @Test
    void framesOfAnExitedProcessAreNamedOnlyWhenTheBuildIdMatches() throws Exception {
        Path fixture = fixture();
        assumeTrue(TestPrograms.onPath("nm") && TestPrograms.onPath("readelf"), "binutils not installed");
        byte[] buildId = java.util.HexFormat.of().parseHex(TestPrograms.output(
                List.of("readelf", "-n", fixture.toString())).replaceAll("(?s).*Build ID: ([0-9a-f]+).*", "$1").trim());
        byte[] wrongId = buildId.clone();
        wrongId[0] ^= 0x55;
        long[] b = nm(fixture).get("b");
        Process p = new ProcessBuilder(fixture.toString(), "60").start();
        int pid = (int) p.pid();
        try (Symbolizer matching = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false));
             Symbolizer mismatching = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false))) {
            Thread.sleep(100);
            long ip = runtime(pid, fixture, loads(fixture), b[0]) + b[1] / 2;
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 6 && f[1].contains("x") && f[5].equals(fixture.toString())) {
                    long start = Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16);
                    long end = Long.parseUnsignedLong(f[0].substring(f[0].indexOf('-') + 1), 16);
                    long off = Long.parseUnsignedLong(f[2], 16);
                    matching.onMapping(pid, start, end - start, off, f[5], buildId);
                    mismatching.onMapping(pid, start, end - start, off, f[5], wrongId);
                }
            }
            p.destroyForcibly();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS), "fixture exited");
            assertTrue(!Files.exists(Path.of("/proc/" + pid)), "the process is gone");

            Frame named = matching.symbolize(pid, new long[] {ip}, 0).get(0);
            assertEquals("b", named.function(), named.toString());
            Frame unnamed = mismatching.symbolize(pid, new long[] {ip}, 0).get(0);
            assertEquals(null, unnamed.function(), "a binary that is not provably the mapped one names nothing");
            assertEquals(fixture.toString(), unnamed.module());
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
