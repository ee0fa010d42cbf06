package dev.stackstream.profile.render;

import dev.stackstream.profile.folded.FoldedStacks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.TestData;
import dev.stackstream.profile.diff.Diff;
import dev.stackstream.profile.diff.DiffSvgRenderer;
import dev.stackstream.profile.folded.FoldedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Same frames, depths, widths and labels as flamegraph.pl for the same collapsed input.
 *
 * <p>The expected geometry in src/test/resources/flamegraph-pl/*.frames was extracted from
 * flamegraph.pl's own output (see that directory's README); these comparisons run everywhere. When
 * the environment variable FLAMEGRAPH_PL points at a flamegraph.pl, the same cases also run
 * against it live.
 */
class SvgParityTest {

    /** case name, collapsed input (relative to the shared perf-script results or test resources), flamegraph.pl args. */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("edge-default", "res:flamegraph-pl/edge.folded", List.of()),
                Arguments.of("java-all-default", "perf-java-stacks-01-collapsed-all.txt", List.of()),
                Arguments.of("java-all-w800-h20-min1", "perf-java-stacks-01-collapsed-all.txt",
                        List.of("--width", "800", "--height", "20", "--minwidth", "1")),
                Arguments.of("iperf-tid-inverted", "perf-iperf-stacks-pidtid-01-collapsed-tid.txt", List.of("--inverted")),
                Arguments.of("numa-kernel-subtitle", "perf-numa-stacks-01-collapsed-kernel.txt",
                        List.of("--title", "T & <x>", "--subtitle", "sub")),
                Arguments.of("js-all-reverse", "perf-js-stacks-01-collapsed-all.txt", List.of("--reverse")));
    }

    static RenderOptions options(List<String> args) {
        RenderOptions o = RenderOptions.defaults();
        for (int i = 0; i < args.size(); i++) {
            switch (args.get(i)) {
                case "--width" -> o = o.withWidth(Integer.parseInt(args.get(++i)));
                case "--height" -> o = o.withFrameHeight(Integer.parseInt(args.get(++i)));
                case "--minwidth" -> o = o.withMinWidth(Double.parseDouble(args.get(++i)));
                case "--inverted" -> o = o.withInverted(true);
                case "--reverse" -> o = o.withReversed(true);
                case "--title" -> o = o.withTitle(args.get(++i));
                case "--subtitle" -> o = o.withSubtitle(args.get(++i));
                default -> throw new IllegalArgumentException(args.get(i));
            }
        }
        return o;
    }

    static Path input(String name) throws IOException {
        if (name.startsWith("res:")) {
            Path tmp = Files.createTempFile("fg", ".folded");
            try (InputStream in = SvgParityTest.class.getResourceAsStream("/" + name.substring(4))) {
                Files.write(tmp, in.readAllBytes());
            }
            tmp.toFile().deleteOnExit();
            return tmp;
        }
        return TestData.perfScriptDir().resolve("results").resolve(name);
    }

    static List<String> ours(Path input, RenderOptions o) throws IOException {
        Profile p = new FoldedReader().read(input);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new SvgRenderer().render(p, o, out);
        return SvgFrames.extract(out.toString(StandardCharsets.UTF_8));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void sameGeometryAsRecordedFlamegraphPl(String name, String input, List<String> args) throws IOException {
        List<String> expected;
        try (InputStream in = getClass().getResourceAsStream("/flamegraph-pl/" + name + ".frames")) {
            assertTrue(in != null, "missing recorded geometry for " + name);
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        }
        List<String> ours = ours(input(input), options(args));
        assertTrue(expected.size() > 2, "recorded geometry is empty");
        if (!expected.equals(ours)) {
            Path dump = Path.of(System.getProperty("java.io.tmpdir"), "stackstream-svg-diff");
            Files.createDirectories(dump);
            Files.write(dump.resolve(name + ".ours"), ours, StandardCharsets.UTF_8);
            Files.write(dump.resolve(name + ".theirs"), expected, StandardCharsets.UTF_8);
        }
        assertEquals(String.join("\n", expected), String.join("\n", ours));
    }

    @ParameterizedTest(name = "live {0}")
    @MethodSource("cases")
    void sameGeometryAsLiveFlamegraphPl(String name, String input, List<String> args) throws Exception {
        String script = System.getenv("FLAMEGRAPH_PL");
        Assumptions.assumeTrue(script != null && Files.isRegularFile(Path.of(script)),
                "FLAMEGRAPH_PL not set: live flamegraph.pl comparison skipped (recorded geometry still checked)");
        Path in = input(input);
        List<String> theirs = SvgFrames.extract(runFlamegraphPl(script, args, in));
        if (Boolean.getBoolean("stackstream.record.flamegraph")) {
            Path dir = Path.of("src/test/resources/flamegraph-pl");
            Files.createDirectories(dir);
            Files.write(dir.resolve(name + ".frames"), theirs, StandardCharsets.UTF_8);
        }
        assertEquals(String.join("\n", theirs), String.join("\n", ours(in, options(args))));
    }

    @Test
    void differentialMatchesFlamegraphPlTwoColumnInput() throws Exception {
        // comparison: the baseline with every third stack doubled and every third halved
        Map<String, Long> base = FoldedStacks.of(new FoldedReader().read(
                input("perf-java-stacks-01-collapsed-all.txt")), RenderOptions.defaults());
        Map<String, Long> cmp = new java.util.TreeMap<>();
        int i = 0;
        for (Map.Entry<String, Long> e : base.entrySet()) {
            long c = e.getValue();
            cmp.put(e.getKey(), switch (i++ % 3) {
                case 0 -> c * 2;
                case 1 -> c;
                default -> c / 2;
            });
        }
        Diff diff = Diff.of(base, cmp, false);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new DiffSvgRenderer().render(diff, RenderOptions.defaults(), out);
        List<String> ours = SvgFrames.extract(out.toString(StandardCharsets.UTF_8));
        String script = System.getenv("FLAMEGRAPH_PL");
        if (script != null && Files.isRegularFile(Path.of(script))) {
            Path twoColumns = Files.createTempFile("diff", ".folded");
            List<String> lines = new ArrayList<>();
            // flamegraph.pl keys frames by name;depth;end, so the zero-width frames of stacks only in
            // the baseline can erase real frames there; we make no such frames (README), so the
            // geometry is compared on the stacks present in the comparison
            diff.lines().forEach((stack, v) -> {
                if (v[1] > 0) {
                    lines.add(stack + " " + v[0] + " " + v[1]);
                }
            });
            Files.write(twoColumns, lines, StandardCharsets.UTF_8);
            List<String> theirs = SvgFrames.extract(runFlamegraphPl(script, List.of(), twoColumns));
            if (Boolean.getBoolean("stackstream.record.flamegraph")) {
                Files.write(Path.of("src/test/resources/flamegraph-pl/diff-java-all.frames"), theirs,
                        StandardCharsets.UTF_8);
            }
            assertEquals(String.join("\n", theirs), String.join("\n", ours));
            Files.delete(twoColumns);
        }
        Path recorded = Path.of("src/test/resources/flamegraph-pl/diff-java-all.frames");
        List<String> expected;
        try (InputStream in = getClass().getResourceAsStream("/flamegraph-pl/diff-java-all.frames")) {
            expected = in != null ? new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList()
                    : Files.readAllLines(recorded, StandardCharsets.UTF_8);
        }
        assertTrue(expected.size() > 10, "recorded differential geometry is empty");
        if (!expected.equals(ours)) {
            Path dump = Path.of(System.getProperty("java.io.tmpdir"), "stackstream-svg-diff");
            Files.createDirectories(dump);
            Files.write(dump.resolve("diff.ours"), ours, StandardCharsets.UTF_8);
            Files.write(dump.resolve("diff.theirs"), expected, StandardCharsets.UTF_8);
        }
        assertTrue(ours.stream().anyMatch(l -> l.contains("%; +")), "some frames grew");
        assertTrue(ours.stream().anyMatch(l -> l.contains("%; -")), "some frames shrank");
        assertEquals(String.join("\n", expected), String.join("\n", ours));
    }

    static String runFlamegraphPl(String script, List<String> args, Path input) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("perl", script));
        cmd.addAll(args);
        cmd.add(input.toString());
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] svg = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "flamegraph.pl timed out");
        assertEquals(0, p.exitValue(), "flamegraph.pl failed");
        return new String(svg, StandardCharsets.UTF_8);
    }
}
