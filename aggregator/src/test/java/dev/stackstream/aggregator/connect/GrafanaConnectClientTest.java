package dev.stackstream.aggregator.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.aggregator.Aggregator;
import dev.stackstream.aggregator.AggregatorConfig;
import dev.stackstream.aggregator.connect.proto.FlameGraph;
import dev.stackstream.aggregator.connect.proto.SelectMergeStacktracesRequest;
import dev.stackstream.aggregator.connect.proto.SelectMergeStacktracesResponse;
import dev.stackstream.aggregator.connect.proto.SelectSeriesRequest;
import dev.stackstream.aggregator.connect.proto.SelectSeriesResponse;
import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.collector.consume.KafkaProfileReader;
import dev.stackstream.collector.publish.PublisherConfig;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.collector.sidecar.Collector;
import dev.stackstream.collector.sidecar.CollectorConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Grafana API end to end: a real collector samples the calltree fixture and publishes to the
 * broker module's real broker, a real aggregator counts it, and then (a) the Connect project's own
 * Node client (src/test/js/connect-client, code generated from our .proto by buf + protoc-gen-es)
 * calls every method in binary and JSON with gzip both ways and one failing call per error code, and
 * (b) raw HTTP checks the statuses, error bodies and gzip, and that the answers' totals equal
 * {@code /api/v1/profile}'s for the same range and selector.
 */
class GrafanaConnectClientTest {
    private static final String TOKEN = "grafana-s3cret";
    private static final String SERVICE = "calltree";
    private static final String CPU = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Path CLIENT = Path.of("src", "test", "js", "connect-client");

    private static Aggregator aggregator;
    private static long samples;
    private static long period;
    private static long fromMs;
    private static long toMs;

    @BeforeAll
    static void start() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        String suffix = "grafana-" + System.nanoTime();
        aggregator = Aggregator.start(AggregatorConfig.builder(kafka.bootstrapServers())
                .applicationId("agg-" + suffix).stateDir(Files.createTempDirectory("agg-grafana-state"))
                .samplesTopic("samples-" + suffix).stacksTopic("stacks-" + suffix).dlqTopic("dlq-" + suffix)
                .topicPartitions(2).httpPort(0).authToken(TOKEN).rocksDbMemoryBytes(32L << 20)
                .build(), new SimpleMeterRegistry());
        assertTrue(aggregator.awaitRunning(Duration.ofMinutes(1)), "aggregator RUNNING");

        Path calltree = Path.of(System.getProperty("stackstream.native.dir", "../native/target/native"),
                "fixtures", "calltree");
        assertTrue(Files.isExecutable(calltree), "fixture missing: " + calltree);
        fromMs = System.currentTimeMillis() - 60_000;
        Process target = new ProcessBuilder(calltree.toString(), "4").start();
        String collectorId = "collector-" + suffix;
        PublisherConfig publisher = PublisherConfig.builder(kafka.bootstrapServers()).samplesTopic("samples-" + suffix)
                .stacksTopic("stacks-" + suffix).build();
        try (Collector collector = Collector.start(CollectorConfig.builder(CollectorConfig.Target.pid(
                        Math.toIntExact(target.pid())), SERVICE, publisher)
                .labels(Map.of("pod", "a")).collectorId(collectorId)
                .sampling(SamplingOptions.builder().frequencyHz(499).build()).window(Duration.ofSeconds(1)).build())) {
            assertTrue(target.waitFor(60, TimeUnit.SECONDS), "calltree ran");
            collector.awaitTermination();   // the pid ended: the last window is delivered
        }
        KafkaProfileReader.ReadResult published = new KafkaProfileReader(kafka.bootstrapServers(), Map.of(),
                "samples-" + suffix, "stacks-" + suffix).readAll(collectorId, Duration.ofSeconds(60));
        assertTrue(published.complete(), published.describeMissing());
        samples = published.profile().totalCount();
        period = published.profile().type().period();
        assertTrue(samples > 100, "the collector sampled calltree: " + samples);
        toMs = System.currentTimeMillis() + 60_000;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (profileJson("").get("totalSamples").asLong() != samples) {
            assertTrue(System.nanoTime() < deadline, "the aggregator counted every published sample");
            Thread.sleep(200);
        }
    }

    @AfterAll
    static void stop() {
        if (aggregator != null) {
            aggregator.close();
        }
    }

    private static JsonNode profileJson(String labels) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/profile?service="
                + SERVICE + "&format=json&from=" + Instant.ofEpochMilli(fromMs) + "&to=" + Instant.ofEpochMilli(toMs)
                + (labels.isEmpty() ? "" : "&labels=" + URLEncoder.encode(labels, StandardCharsets.UTF_8))))
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    private static String base() {
        return "http://127.0.0.1:" + aggregator.httpPort();
    }

    private static HttpResponse<byte[]> call(String method, String contentType, byte[] body, String token,
                                             String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + "/querier.v1.QuerierService/" + method))
                .header("Content-Type", contentType).header("Connect-Protocol-Version", "1")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static FlameGraph flameGraph(String selector) throws Exception {
        HttpResponse<byte[]> r = call("SelectMergeStacktraces", "application/proto", SelectMergeStacktracesRequest
                .newBuilder().setProfileTypeID(CPU).setLabelSelector(selector).setStart(fromMs).setEnd(toMs).build()
                .toByteArray(), TOKEN);
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        return SelectMergeStacktracesResponse.parseFrom(r.body()).getFlamegraph();
    }

    @Test
    void totalsEqualTheProfileApiForTheSameRangeAndSelector() throws Exception {
        for (String[] c : new String[][] {{"{service_name=\"calltree\"}", ""},
                {"{service_name=\"calltree\",pod=\"a\"}", "{pod=\"a\"}"},
                {"{service_name=~\"call.*\",pod!=\"b\"}", "{pod!=\"b\"}"},
                {"{service_name=\"calltree\",pod=\"b\"}", "{pod=\"b\"}"},
                {"{__profile_type__=\"" + CPU + "\",service_name=\"calltree\",__name__=\"process_cpu\"}", ""}}) {
            JsonNode own = profileJson(c[1]);
            long expected = own.get("totalSamples").asLong() * own.get("type").get("period").asLong();
            FlameGraph fg = flameGraph(c[0]);
            assertEquals(expected, fg.getTotal(), c[0]);
            // The levels decode back into the same profile (frame paths with their self values).
            Map<String, Long> decoded = FlameGraphLevels.decode(fg);
            assertEquals(expected, decoded.values().stream().mapToLong(Long::longValue).sum(), c[0]);
        }
        assertEquals(samples * period, flameGraph("{}").getTotal(), "no selector: every service");
        assertEquals(0, flameGraph("{service_name=\"nope\"}").getTotal(), "no such service: an empty graph");
        assertEquals(0, flameGraph("{__name__=\"memory\"}").getTotal(), "another type's name: an empty graph");

        HttpResponse<byte[]> r = call("SelectSeries", "application/proto", SelectSeriesRequest.newBuilder()
                .setProfileTypeID(CPU).setLabelSelector("{service_name=\"calltree\"}").setStart(fromMs).setEnd(toMs)
                .setStep(15).build().toByteArray(), TOKEN);
        assertEquals(200, r.statusCode());
        SelectSeriesResponse series = SelectSeriesResponse.parseFrom(r.body());
        assertEquals(1, series.getSeriesCount());
        double sum = series.getSeries(0).getPointsList().stream().mapToDouble(p -> p.getValue()).sum();
        assertEquals(samples * period, sum, 0.5, "the sum per step adds up to the total");
        long stepMs = series.getSeries(0).getPoints(1).getTimestamp() - series.getSeries(0).getPoints(0).getTimestamp();
        assertEquals(20_000, stepMs, "a 15 s step rounds up to whole 10 s buckets");
    }

    @Test
    void errorsAreConnectJsonWithTheirHttpStatus() throws Exception {
        byte[] badSelector = SelectMergeStacktracesRequest.newBuilder().setProfileTypeID(CPU)
                .setLabelSelector("{pod=x}").setStart(fromMs).setEnd(toMs).build().toByteArray();
        byte[] unknownType = SelectMergeStacktracesRequest.newBuilder().setProfileTypeID("memory:alloc:bytes:space:bytes")
                .setStart(fromMs).setEnd(toMs).build().toByteArray();
        byte[] backwards = SelectMergeStacktracesRequest.newBuilder().setProfileTypeID(CPU)
                .setStart(toMs).setEnd(fromMs).build().toByteArray();
        assertError(call("SelectMergeStacktraces", "application/proto", badSelector, TOKEN), 400, "invalid_argument",
                "label_selector");
        assertError(call("SelectMergeStacktraces", "application/proto", backwards, TOKEN), 400, "invalid_argument",
                "start");
        assertError(call("SelectMergeStacktraces", "application/proto", new byte[] {(byte) 0xff, 1}, TOKEN), 400,
                "invalid_argument", "not a valid");
        assertError(call("SelectMergeStacktraces", "application/proto", unknownType, TOKEN), 404, "not_found",
                "unknown profile type");
        assertError(call("ProfileTypes", "application/proto", new byte[0], "wrong"), 401, "unauthenticated", "token");
        assertError(call("ProfileTypes", "application/json", "{}".getBytes(StandardCharsets.UTF_8), null), 401,
                "unauthenticated", "token");
        assertError(call("Diff", "application/proto", new byte[0], TOKEN), 501, "unimplemented", "not implemented");
        assertError(call("ProfileTypes", "application/proto", new byte[0], TOKEN, "Content-Encoding", "br"), 501,
                "unimplemented", "gzip");
        assertError(call("ProfileTypes", "application/proto", new byte[0], TOKEN, "Connect-Timeout-Ms", "soon"), 400,
                "invalid_argument", "Connect-Timeout-Ms");
        // A zero timeout has expired before the call starts (the deadline itself: ConnectDeadlineTest).
        assertError(call("SelectMergeStacktraces", "application/proto", new byte[0], TOKEN, "Connect-Timeout-Ms", "0"),
                504, "deadline_exceeded", "deadline");
        HttpResponse<byte[]> unsupported = call("ProfileTypes", "text/plain", new byte[0], TOKEN);
        assertEquals(415, unsupported.statusCode());
        assertEquals("application/proto, application/json", unsupported.headers().firstValue("Accept-Post").orElse(""));
    }

    private static void assertError(HttpResponse<byte[]> r, int status, String code, String messagePart)
            throws Exception {
        String body = new String(r.body(), StandardCharsets.UTF_8);
        assertEquals(status, r.statusCode(), body);
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), body);
        JsonNode n = JSON.readTree(body);
        assertEquals(code, n.get("code").asText(), body);
        assertTrue(n.get("message").asText().contains(messagePart), body);
    }

    @Test
    void gzipBothWaysAndJsonWithTheProto3Mapping() throws Exception {
        String request = "{\"profileTypeID\":\"" + CPU + "\",\"labelSelector\":\"{service_name=\\\"calltree\\\"}\","
                + "\"start\":\"" + fromMs + "\",\"end\":\"" + toMs + "\",\"maxNodes\":\"4\"}";
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(request.getBytes(StandardCharsets.UTF_8));
        }
        HttpResponse<byte[]> r = call("SelectMergeStacktraces", "application/json", gz.toByteArray(), TOKEN,
                "Content-Encoding", "gzip", "Accept-Encoding", "gzip");
        assertEquals(200, r.statusCode());
        assertEquals("gzip", r.headers().firstValue("Content-Encoding").orElse(""));
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        JsonNode body;
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(r.body()))) {
            body = JSON.readTree(in.readAllBytes());
        }
        JsonNode fg = body.get("flamegraph");
        assertEquals(Long.toString(samples * period), fg.get("total").asText(), "int64 as a JSON string");
        assertEquals("total", fg.get("names").get(0).asText());
        int nodes = 0;
        for (int d = 1; d < fg.get("levels").size(); d++) {
            nodes += fg.get("levels").get(d).get("values").size() / 4;
        }
        assertTrue(nodes <= 4 + 4, "max_nodes 4 keeps 4 frames plus at most one 'other' per kept parent: " + nodes);

        HttpResponse<byte[]> names = call("LabelNames", "application/json", ("{\"matchers\":[\"{__profile_type__=\\\""
                + CPU + "\\\"}\"]}").getBytes(StandardCharsets.UTF_8), TOKEN);
        assertEquals(200, names.statusCode(), new String(names.body(), StandardCharsets.UTF_8));
        assertEquals(List.of("pod", "service_name"), texts(JSON.readTree(names.body()).get("names")).stream()
                .filter(n -> n.equals("pod") || n.startsWith("service") || n.startsWith("__")).toList(),
                "Pyroscope's type label matches and is never listed");

        HttpResponse<byte[]> plain = call("ProfileTypes", "application/proto", new byte[0], TOKEN);
        assertEquals("application/proto", plain.headers().firstValue("Content-Type").orElse(""));
        assertTrue(plain.headers().firstValue("Content-Encoding").isEmpty(), "no gzip unless accepted");
    }

    /** The Connect project's Node client: every method, binary and JSON, gzip, and each error code. */
    @Test
    void connectNodeClientCallsEveryMethod() throws Exception {
        if (!Files.isDirectory(CLIENT.resolve("node_modules"))) {
            String why = CLIENT.resolve("node_modules") + " is missing: run `npm ci` there (./stackstream test does)";
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError(why);
            }
            Assumptions.abort(why);
        }
        run(List.of("npm", "run", "--silent", "generate"), Map.of());
        String out = run(List.of("node", "client.mjs"), Map.of("BASE_URL", base(), "TOKEN", TOKEN, "SERVICE", SERVICE,
                "FROM_MS", Long.toString(fromMs), "TO_MS", Long.toString(toMs)));
        JsonNode result = JSON.readTree(out.lines().reduce((a, b) -> b).orElse("{}"));
        String total = Long.toString(samples * period);
        for (String format : List.of("binary", "json")) {
            JsonNode r = result.get(format);
            assertEquals(CPU, r.get("healthCheck").get(0).asText(), format);
            JsonNode type = r.get("profileTypes").get(0);
            assertEquals(List.of(CPU, "process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds"),
                    List.of(type.get("id").asText(), type.get("name").asText(), type.get("sampleType").asText(),
                            type.get("sampleUnit").asText(), type.get("periodType").asText(),
                            type.get("periodUnit").asText()), format);
            assertTrue(texts(r.get("labelNames")).containsAll(List.of("pod", "service_name")), format + " " + r);
            assertTrue(texts(r.get("services")).contains(SERVICE), format);
            assertEquals(List.of("a"), texts(r.get("pods")), format);
            assertEquals("calltree", r.get("series").get(0).get("service_name").asText(), format);
            assertEquals("a", r.get("series").get(0).get("pod").asText(), format);
            JsonNode fg = r.get("flamegraph");
            assertEquals(total, fg.get("total").asText(), format);
            assertEquals("total", fg.get("firstName").asText(), format);
            assertEquals(List.of(0L, samples * period), List.of(fg.get("root").get(0).asLong(), fg.get("root").get(1).asLong()),
                    format);
            JsonNode folded = r.get("folded");
            assertEquals(total, folded.get("total").asText(), format + ": folding keeps the total");
            assertTrue(folded.get("otherNodes").asInt() >= 1, format + ": " + folded);
            assertTrue(folded.get("nodes").asInt() - folded.get("otherNodes").asInt() <= 3, format + ": " + folded);
            assertEquals(List.of("samples", "cpu"), texts(r.get("pprof").get("sampleTypes")), format);
            assertEquals(Long.toString(samples), r.get("pprof").get("samples").asText(), format);
            assertEquals(total, r.get("pprof").get("value").asText(), format);
            JsonNode series = r.get("selectSeries").get(0);
            assertEquals("a", series.get("labels").get("pod").asText(), format);
            assertEquals(samples * period, series.get("sum").asDouble(), 0.5, format);
            assertTrue(series.get("ascending").asBoolean(), format);
            for (String m : List.of("ProfileTypes", "LabelNames", "LabelValues", "Series", "SelectMergeStacktraces",
                    "SelectMergeProfile", "SelectSeries")) {
                assertEquals("gzip", r.get("encodings").get(m).asText(), format + " " + m + " answered gzipped");
            }
        }
        JsonNode e = result.get("errors");
        assertEquals("InvalidArgument", e.get("invalidArgument").asText());
        assertEquals("InvalidArgument", e.get("invalidArgumentJson").asText());
        assertEquals("NotFound", e.get("notFound").asText());
        assertEquals("Unauthenticated", e.get("unauthenticated").asText());
        assertEquals("Unauthenticated", e.get("unauthenticatedNoToken").asText());
        assertEquals("Unimplemented", e.get("unimplemented").asText());
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new java.util.ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static String run(List<String> command, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(CLIENT.toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), command + " finished");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), command + ":\n" + text);
        return text;
    }
}
