package dev.stackstream.profile.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Fixtures;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.TestData;
import dev.stackstream.profile.io.PerfScriptReader;
import dev.stackstream.profile.pprof.PprofProto;
import dev.stackstream.profile.report.Summary;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PprofRendererTest {

    static byte[] render(Profile p) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new PprofRenderer().render(p, RenderOptions.defaults(), out);
        return out.toByteArray();
    }

    static PprofProto.Profile parse(byte[] gz) throws IOException {
        assertEquals(0x1f, gz[0] & 0xff, "gzip magic");
        assertEquals(0x8b, gz[1] & 0xff, "gzip magic");
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return PprofProto.Profile.parseFrom(in);
        }
    }

    @Test
    void parsesBackWithPprofInvariants() throws IOException {
        Profile profile = Fixtures.calltree();
        PprofProto.Profile p = parse(render(profile));
        List<String> st = p.getStringTableList();
        assertEquals("", st.get(0), "string_table[0] must be empty");
        assertEquals(List.of("samples/count", "cpu/nanoseconds"),
                p.getSampleTypeList().stream().map(t -> st.get((int) t.getType()) + "/" + st.get((int) t.getUnit())).toList());
        assertEquals("cpu/nanoseconds", st.get((int) p.getPeriodType().getType()) + "/" + st.get((int) p.getPeriodType().getUnit()));
        assertEquals(1_001_001, p.getPeriod());
        assertEquals(5_000_000_000L, p.getDurationNanos());
        Set<Long> locationIds = new HashSet<>();
        for (PprofProto.Location l : p.getLocationList()) {
            assertNotEquals(0, l.getId(), "location ids are non-zero");
            assertTrue(locationIds.add(l.getId()), "location ids unique");
            assertNotEquals(0, l.getLine(0).getFunctionId());
        }
        p.getFunctionList().forEach(f -> assertNotEquals(0, f.getId()));
        p.getMappingList().forEach(m -> assertNotEquals(0, m.getId()));
        assertTrue(p.getMappingList().stream().anyMatch(m -> st.get((int) m.getBuildId())
                .equals("0123456789abcdef0123456789abcdef01234567")), "build-ids kept in mappings");
        long samples = 0;
        for (PprofProto.Sample s : p.getSampleList()) {
            samples += s.getValue(0);
            assertEquals(s.getValue(0) * 1_001_001, s.getValue(1));
            s.getLocationIdList().forEach(id -> assertTrue(locationIds.contains(id)));
            assertEquals("thread", st.get((int) s.getLabel(0).getKey()));
        }
        assertEquals(profile.totalCount(), samples);
        // leaf first: the heaviest sample's first location is b, its last __libc_start_main
        PprofProto.Sample heavy = p.getSampleList().stream().max((x, y) -> Long.compare(x.getValue(0), y.getValue(0))).orElseThrow();
        assertEquals("b", functionName(p, heavy.getLocationId(0)));
        assertEquals("__libc_start_main", functionName(p, heavy.getLocationId(heavy.getLocationIdCount() - 1)));
    }

    private static String functionName(PprofProto.Profile p, long locationId) {
        PprofProto.Location l = p.getLocationList().stream().filter(x -> x.getId() == locationId).findFirst().orElseThrow();
        long fid = l.getLine(0).getFunctionId();
        PprofProto.Function f = p.getFunctionList().stream().filter(x -> x.getId() == fid).findFirst().orElseThrow();
        return p.getStringTable((int) f.getName());
    }

    @Test
    void goToolPprofTopEqualsSummary(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(goAvailable(), "go not installed (Debian golang-go): go tool pprof check skipped");
        for (Profile profile : List.of(Fixtures.calltree(), new PerfScriptReader(PerfScriptReader.Options.all())
                .read(TestData.perfScriptDir().resolve("example-perf-stacks.txt.gz")))) {
            Path file = dir.resolve("profile.pb.gz");
            Files.write(file, render(profile));
            List<String> rows = goTop(file);
            List<String> ours = new ArrayList<>();
            for (Summary.FunctionShare f : Summary.of(profile).topSelf()) {
                ours.add(f.self() + " " + f.total() + " " + f.function());
            }
            assertEquals(String.join("\n", ours), String.join("\n", rows.subList(0, Math.min(rows.size(), ours.size()))));
        }
    }

    static boolean goAvailable() {
        try {
            Process p = new ProcessBuilder("go", "version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** "flat cum name" rows of go tool pprof -top in sample counts. */
    static List<String> goTop(Path file) throws Exception {
        Process p = new ProcessBuilder("go", "tool", "pprof", "-top", "-nodecount=15", "-nodefraction=0",
                "-sample_index=samples", file.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "pprof timed out");
        assertEquals(0, p.exitValue(), "go tool pprof failed:\n" + out);
        List<String> rows = new ArrayList<>();
        boolean table = false;
        for (String line : out.split("\n")) {
            if (line.trim().startsWith("flat")) {
                table = true;
                continue;
            }
            if (table && !line.isBlank()) {
                String[] f = line.trim().split("\\s+", 6);
                rows.add(f[0] + " " + f[3] + " " + f[5]);
            }
        }
        assertTrue(!rows.isEmpty(), "no rows in pprof output:\n" + out);
        return rows;
    }
}
