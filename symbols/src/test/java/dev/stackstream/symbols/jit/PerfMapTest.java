package dev.stackstream.symbols.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.symbols.AdvancingTicker;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import dev.stackstream.symbols.Ticker;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PerfMapTest {

    private static PerfMap parse(String text) throws IOException {
        return PerfMap.parse(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void parsesHexWithAndWithoutPrefix() throws IOException {
        PerfMap m = parse("""
                7f0000001000 40 Interpreter
                0x7f0000002000 0x100 LFoo;bar(I)V
                7F0000003000 0X10 [] spaces in the name (x, y)
                """);
        assertEquals(3, m.size());
        assertEquals(0, m.badLines());
        assertEquals("Interpreter", m.nameAt(0x7f0000001000L));
        assertEquals("Interpreter", m.nameAt(0x7f000000103fL));
        assertNull(m.nameAt(0x7f0000001040L));
        assertEquals("LFoo;bar(I)V", m.nameAt(0x7f00000020ffL));
        assertEquals("[] spaces in the name (x, y)", m.nameAt(0x7f0000003000L));
        assertNull(m.nameAt(0x7f0000000fffL));
    }

    @Test
    void malformedLinesAreSkippedAndCounted() throws IOException {
        PerfMap m = parse("""
                zzzz 10 bad-start
                1000 nothex bad-size
                2000 10
                3000 0 zero-size
                ffffffffffffffff 10 wraps
                12345678901234567 10 too-long
                4000 10 good
                """);
        assertEquals(1, m.size());
        assertEquals(6, m.badLines());
        assertEquals("good", m.nameAt(0x4005));
    }

    @Test
    void laterEntriesReplaceEarlierOnesAtTheSameAddress() throws IOException {
        PerfMap m = parse("1000 100 old\n2000 10 other\n1000 80 new\n1040 100 overlapping-later\n");
        assertEquals("new", m.nameAt(0x1000));
        assertEquals("overlapping-later", m.nameAt(0x1050));
        assertEquals("overlapping-later", m.nameAt(0x1130));
    }

    @Test
    void mapIsReloadedWhenItGrows(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("perf-1.map");
        Files.writeString(file, "1000 10 first\n");
        List<String> warnings = new ArrayList<>();
        PerfMapFile pm = new PerfMapFile(file, 0, Ticker.system(), (c, m) -> warnings.add(c));
        assertEquals("first", pm.current().nameAt(0x1000));
        assertNull(pm.current().nameAt(0x2000));
        Files.writeString(file, "2000 10 second\nnot a line\n", StandardOpenOption.APPEND);
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() + 5000));
        assertEquals("second", pm.current().nameAt(0x2000));
        assertEquals("first", pm.current().nameAt(0x1000));
        assertEquals(List.of("perf-map-bad-line"), warnings);
    }

    @Test
    void refreshIntervalLimitsRereads(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("perf-2.map");
        Files.writeString(file, "1000 10 first\n");
        AdvancingTicker ticker = new AdvancingTicker();
        PerfMapFile pm = new PerfMapFile(file, Duration.ofHours(1).toNanos(), ticker, (c, m) -> { });
        assertEquals("first", pm.current().nameAt(0x1000));
        Files.writeString(file, "2000 10 second\n", StandardOpenOption.APPEND);
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() + 5000));
        ticker.advance(Duration.ofMinutes(59));
        assertNull(pm.current().nameAt(0x2000), "not re-read within the refresh interval");
        ticker.advance(Duration.ofMinutes(1));
        assertEquals("second", pm.current().nameAt(0x2000), "re-read once the interval has passed");
        Files.writeString(file, "3000 10 third\n", StandardOpenOption.APPEND);
        pm.invalidate();
        assertEquals("third", pm.current().nameAt(0x3000), "invalidate forces a re-check");
    }

    @Test
    void missingMapMeansNoMap(@TempDir Path dir) {
        PerfMapFile pm = new PerfMapFile(dir.resolve("perf-3.map"), 0, Ticker.system(), (c, m) -> { });
        assertNull(pm.current());
    }

    @Test
    void nsPidComesFromProcStatus() {
        int self = (int) ProcessHandle.current().pid();
        assertEquals(self, PerfMapFile.nsPid(Path.of("/proc"), self));
        Path p = PerfMapFile.locate(Path.of("/proc"), self);
        assertEquals(Path.of("/proc/" + self + "/root/tmp/perf-" + self + ".map"), p);
    }

    @Test
    void anonymousCodeOfAProcessIsNamedFromItsPerfMap() throws Exception {
        // This JVM's own code cache is anonymous executable memory: write a perf map for a range
        // of it and check that addresses there come back as JIT frames with those names.
        int self = (int) ProcessHandle.current().pid();
        long anon = -1;
        for (var line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            String[] f = line.trim().split("\\s+");
            if (f[1].contains("x") && f.length == 5) {
                anon = Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16);
                break;
            }
        }
        assertTrue(anon > 0, "the JVM has anonymous executable memory");
        Path map = Path.of("/tmp/perf-" + self + ".map");
        boolean existed = Files.exists(map);
        if (!existed) {
            Files.writeString(map, Long.toHexString(anon) + " 40 LTest;hot()V\n0x" + Long.toHexString(anon + 0x40)
                    + " 0x40 Interpreter\n");
        }
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false))) {
            var frames = s.symbolize(self, new long[] {anon + 0x41, anon + 0x11}, 0);
            if (!existed) {
                assertEquals("LTest;hot()V", frames.get(0).function());
                assertEquals("Interpreter", frames.get(1).function());
                assertEquals(dev.stackstream.profile.FrameKind.JIT, frames.get(0).kind());
                assertEquals("/tmp/perf-" + self + ".map", frames.get(0).module());
            }
        } finally {
            if (!existed) {
                Files.deleteIfExists(map);
            }
        }
    }
}
