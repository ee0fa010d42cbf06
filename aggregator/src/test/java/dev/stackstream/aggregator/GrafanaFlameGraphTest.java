package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import dev.stackstream.wire.WireModel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * Grafana's own flame graph component ({@code @grafana/flamegraph} from npm, with React, bundled by
 * esbuild: the npm project in src/test/js/grafana-flamegraph) rendering a real aggregator's profile
 * in headless Chromium, converted to the panel's data frame as Grafana's Pyroscope data source
 * does (fields level / value / self / label, depth-first pre-order) from the aggregator's own
 * SelectMergeStacktraces answer (the Connect endpoint, proto3 JSON, Pyroscope's level encoding).
 * The shares it is checked against come from the same aggregator's {@code /api/v1/profile}.
 *
 * <p>The page records every bar the component draws on its canvas; the width of each known frame
 * must be its share of our profile. The component draws a bar {@code value × width / total − 1}
 * pixels wide (half a pixel of border each side) from the measured integer container width, so
 * the share is exact up to floating point: the margin is a tenth of a pixel. The screenshot is
 * kept in target/grafana-flamegraph/flamegraph.png.
 */
class GrafanaFlameGraphTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ProfileType CPU = ProfileType.cpu(99);
    private static final String PROFILE_TYPE_ID = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    private static final Pattern DRAWN = Pattern.compile("<script type=\"application/json\" id=\"drawn\">([^<]*)</script>");
    private static final Pattern BODY = Pattern.compile("<body([^>]*)>");
    private static final int WINDOWS = 6;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static Stack stack(String... names) {
        List<Frame> frames = new ArrayList<>();
        for (String n : names) {
            frames.add(Frame.named(n, FrameKind.USER));
        }
        return new Stack(frames, false);
    }

    // Per window: a 70 % (b 60 + a's own 10), c 30 % (c's own 20 + e 10).
    private static final Map<Stack, Long> WORKLOAD = new LinkedHashMap<>();

    static {
        WORKLOAD.put(stack("main", "a", "b"), 60L);
        WORKLOAD.put(stack("main", "a"), 10L);
        WORKLOAD.put(stack("main", "c"), 20L);
        WORKLOAD.put(stack("main", "c", "e"), 10L);
    }

    @Test
    void grafanasComponentDrawsOurSharesAndKeepsAScreenshot() throws Exception {
        Path node = RequiredTools.require("/usr/bin/node", "install Node.js (Debian: nodejs npm)");
        RequiredTools.require("/usr/bin/npm", "install npm (Debian: npm)");
        Path chromium = RequiredTools.require("/usr/bin/chromium", "install Debian's chromium package");
        Path project = moduleDir().resolve("src/test/js/grafana-flamegraph");
        Path out = moduleDir().resolve("target/grafana-flamegraph");
        Files.createDirectories(out);
        installAndBundle(node, project, out);

        Answers answers = fromARealAggregator();
        Map<String, Long> collapsed = answers.collapsed();
        long total = collapsed.values().stream().mapToLong(Long::longValue).sum();
        assertEquals(100L * WINDOWS, total, "the aggregator counted every window");
        JsonNode answer = answers.selectMergeStacktraces();
        JsonNode fg = answer.path("flamegraph");
        assertEquals("total", fg.path("names").get(0).asText());
        assertEquals(List.of("0", Long.toString(total * CPU.period()), "0", "0"),
                JSON.convertValue(fg.path("levels").get(0).path("values"), List.class),
                "level 0 is [0, total, self, 0] in nanoseconds (samples x period)");
        Files.writeString(out.resolve("answer.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(answer));
        Files.writeString(out.resolve("answer.js"), "window.STACKSTREAM_PROFILE_TYPE = " + JSON.writeValueAsString(PROFILE_TYPE_ID)
                + ";\nwindow.STACKSTREAM_ANSWER = " + JSON.writeValueAsString(answer) + ";\n");
        Files.copy(project.resolve("page.html"), out.resolve("page.html"), StandardCopyOption.REPLACE_EXISTING);

        String dom = chromium(chromium, out, "--dump-dom", out.resolve("page.html"));
        Matcher body = BODY.matcher(dom);
        assertTrue(body.find() && body.group(1).contains("data-ready=\"true\""), "page did not finish:\n" + dom);
        assertFalse(body.group(1).contains("data-errors"), "script errors: " + body.group(1));
        Matcher m = DRAWN.matcher(dom);
        assertTrue(m.find(), "no drawing record in the page");
        JsonNode drawn = JSON.readTree(m.group(1));
        assertTrue(drawn.path("wrongFields").isNull(), "Grafana's checkFields: " + drawn.path("wrongFields"));
        assertEquals("ns", drawn.path("unit").asText(), "unit from the profile type id, as Grafana takes it");
        assertEquals(6, drawn.path("rows").asInt(), "total, main, a, b, c, e: one row per node");
        double width = drawn.path("canvasWidth").asDouble();
        assertTrue(width >= 800, "canvas width " + width);

        Map<String, JsonNode> bars = new TreeMap<>();
        for (JsonNode b : drawn.path("bars")) {
            String label = b.path("text").asText().replaceFirst(" \\(.*\\)$", "");
            assertTrue(bars.put(label, b) == null, "one bar per frame: " + label + " twice");
        }
        assertEquals(List.of("a", "b", "c", "e", "main", "total"), new ArrayList<>(bars.keySet()));
        Map<String, Double> expected = Map.of("total", 1.0, "main", 1.0, "a", 0.7, "b", 0.6, "c", 0.3, "e", 0.1);
        double margin = 0.1 / width;
        expected.forEach((frame, share) -> {
            double drawnShare = (bars.get(frame).path("width").asDouble() + 1) / width;
            assertEquals(share, drawnShare, margin, frame + "'s bar: " + bars.get(frame));
        });
        // Shares read back from our own profile, not from the constants above.
        assertEquals(share(collapsed, "main;a"), (bars.get("a").path("width").asDouble() + 1) / width, margin);
        assertEquals(share(collapsed, "main;c;e"), (bars.get("e").path("width").asDouble() + 1) / width, margin);
        // Children inside their parent, one level (22 px) further down.
        assertInside(bars.get("b"), bars.get("a"));
        assertInside(bars.get("e"), bars.get("c"));
        assertInside(bars.get("a"), bars.get("main"));

        Path png = out.resolve("flamegraph.png");
        Files.deleteIfExists(png);
        chromium(chromium, out, "--screenshot=" + png, out.resolve("page.html"));
        BufferedImage image = ImageIO.read(png.toFile());
        assertTrue(image != null && image.getWidth() == 1200, "screenshot " + png);
        JsonNode a = bars.get("a");
        int rgb = image.getRGB((int) (a.path("x").asDouble() + a.path("width").asDouble() / 2),
                drawn.path("canvasTop").asInt() + (int) (a.path("y").asDouble() + 11)) & 0xFFFFFF;
        assertTrue(rgb != 0xFFFFFF, "bar a is painted in the screenshot (pixel " + Integer.toHexString(rgb) + ")");
    }

    private static double share(Map<String, Long> collapsed, String prefix) {
        long total = collapsed.values().stream().mapToLong(Long::longValue).sum();
        long under = collapsed.entrySet().stream().filter(e -> e.getKey().equals(prefix)
                || e.getKey().startsWith(prefix + ";")).mapToLong(Map.Entry::getValue).sum();
        return (double) under / total;
    }

    private static void assertInside(JsonNode child, JsonNode parent) {
        double x = child.path("x").asDouble();
        double px = parent.path("x").asDouble();
        assertTrue(x >= px && x + child.path("width").asDouble() <= px + parent.path("width").asDouble() + 1e-6,
                child + " inside " + parent);
        assertEquals(parent.path("y").asDouble() + 22, child.path("y").asDouble(), 1e-9, child + " below " + parent);
    }

    /** The aggregator module's directory (surefire's working directory, or below the root in an IDE). */
    private static Path moduleDir() {
        Path cwd = Path.of("").toAbsolutePath();
        return Files.isDirectory(cwd.resolve("src/test/js")) ? cwd : cwd.resolve("aggregator");
    }

    /** npm ci when the project has no node_modules yet (`./stackstream test` runs it first), then esbuild. */
    private static void installAndBundle(Path node, Path project, Path out) throws Exception {
        if (!Files.isDirectory(project.resolve("node_modules"))) {
            run(project, 900, List.of("/usr/bin/npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"));
        }
        run(project, 300, List.of(node.toString(), "bundle.mjs", out.resolve("bundle.js").toString()));
        assertTrue(Files.size(out.resolve("bundle.js")) > 100_000, "bundle written");
    }

    private static String run(Path dir, long timeoutSeconds, List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        byte[][] output = new byte[1][];
        Thread reader = new Thread(() -> {
            try {
                output[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                output[0] = e.toString().getBytes(StandardCharsets.UTF_8);
            }
        });
        reader.start();
        boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        reader.join(10_000);
        String text = output[0] == null ? "" : new String(output[0], StandardCharsets.UTF_8);
        assertTrue(done, String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s:\n" + text);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + text);
        return text;
    }

    /**
     * Headless Chromium with the page's virtual time allowed to run (the component measures its
     * container and draws in React effects after load): --dump-dom returns the DOM afterwards, a
     * --screenshot the picture.
     */
    private static String chromium(Path chromium, Path out, String mode, Path page) throws Exception {
        Path profile = Files.createTempDirectory("chromium-profile");
        try {
            return run(out, 180, List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--user-data-dir=" + profile, "--window-size=1200,260", "--hide-scrollbars",
                    "--virtual-time-budget=20000", mode, page.toUri().toString()));
        } finally {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** What the aggregator answered: our own profile (collapsed) and Grafana's SelectMergeStacktraces. */
    private record Answers(Map<String, Long> collapsed, JsonNode selectMergeStacktraces) { }

    /**
     * Six windows of the workload through a real broker into a real aggregator, read back as
     * collapsed text and through the Connect endpoint Grafana's data source calls (JSON codec).
     */
    private static Answers fromARealAggregator() throws Exception {
        var kafka = SharedKafka.get();
        try (Aggregator aggregator = Aggregator.start(AggregatorConfig.builder(kafka.bootstrapServers())
                     .applicationId("gf-" + System.nanoTime()).stateDir(Files.createTempDirectory("gf-state"))
                     .samplesTopic("gf-samples").stacksTopic("gf-stacks").dlqTopic("gf-dlq").topicPartitions(1)
                     .httpPort(0).rocksDbMemoryBytes(32L << 20).build(), new SimpleMeterRegistry());
             KafkaProducer<byte[], byte[]> producer = TestKafka.producer(kafka.bootstrapServers())) {
            assertTrue(aggregator.awaitRunning(Duration.ofMinutes(1)), "aggregator RUNNING");
            TestKafka.sendStacks(producer, "gf-stacks", new ArrayList<>(WORKLOAD.keySet()));
            long now = System.currentTimeMillis();
            Instant base = Instant.ofEpochMilli(now - now % 10_000 - 10_000L * WINDOWS);
            for (int seq = 0; seq < WINDOWS; seq++) {
                Instant s = base.plusSeconds(10L * seq);
                ProfileBuilder b = Profile.builder(CPU).timeRange(s, s.plusSeconds(10));
                WORKLOAD.forEach((stack, count) -> b.add(stack, "main", count));
                TestKafka.sendBatch(producer, "gf-samples", WireModel.toBatch(b.build(), "flame", Map.of(), "gf-1", seq));
            }
            producer.flush();
            String query = "/api/v1/profile?service=flame&format=collapsed&from=" + enc(base.toString())
                    + "&to=" + enc(base.plusSeconds(10L * WINDOWS).toString());
            Map<String, Long> collapsed = new TreeMap<>();
            await(Duration.ofSeconds(120), "every window counted", () -> {
                HttpResponse<String> r = TestKafka.get(aggregator.httpPort(), query);
                collapsed.clear();
                if (r.statusCode() == 200) {
                    for (String line : r.body().split("\n")) {
                        int sp = line.lastIndexOf(' ');
                        if (sp > 0) {
                            collapsed.merge(line.substring(0, sp), Long.parseLong(line.substring(sp + 1)), Long::sum);
                        }
                    }
                }
                return collapsed.values().stream().mapToLong(Long::longValue).sum() == 100L * WINDOWS;
            });
            ObjectNode request = JSON.createObjectNode()
                    .put("profileTypeID", PROFILE_TYPE_ID)
                    .put("labelSelector", "{service_name=\"flame\"}")
                    .put("start", Long.toString(base.toEpochMilli()))
                    .put("end", Long.toString(base.plusSeconds(10L * WINDOWS).toEpochMilli()));
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                            + aggregator.httpPort() + "/querier.v1.QuerierService/SelectMergeStacktraces"))
                    .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                    .header("Connect-Protocol-Version", "1")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(request))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            return new Answers(collapsed, JSON.readTree(r.body()));
        }
    }
}
