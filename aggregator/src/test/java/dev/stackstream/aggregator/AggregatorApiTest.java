package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.aggregator.engine.DeadLetters;
import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.profile.render.Renderer;
import dev.stackstream.profile.render.Renderers;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.WireCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One aggregator on a real broker fed a known workload with replays and corrupt records in the
 * middle; then the whole HTTP API is exercised, including its error answers.
 */
class AggregatorApiTest {
    private static final String TOKEN = "s3cret";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Workload WORK = new Workload(40);
    private static final String SAMPLES = "api-samples";
    private static final String STACKS = "api-stacks";
    private static final String DLQ = "api-dlq";

    private static EmbeddedKafka kafka;
    private static Aggregator aggregator;
    private static SimpleMeterRegistry registry;
    private static final MutableClock CLOCK = new MutableClock();
    private static final Map<String, Long> EXPECTED_CHECKOUT = new TreeMap<>();
    private static final Map<String, Long> EXPECTED_POD_A = new TreeMap<>();
    private static final Map<String, Long> EXPECTED_SEARCH = new TreeMap<>();
    private static Instant base;
    private static Instant oldBase;

    @BeforeAll
    static void start() throws Exception {
        kafka = SharedKafka.get();
        Path state = Files.createTempDirectory("agg-api-state");
        registry = new SimpleMeterRegistry();
        aggregator = Aggregator.start(AggregatorConfig.builder(kafka.bootstrapServers())
                .applicationId("agg-api-" + System.nanoTime()).stateDir(state)
                .samplesTopic(SAMPLES).stacksTopic(STACKS).dlqTopic(DLQ).topicPartitions(3)
                .httpPort(0).authToken(TOKEN).clock(CLOCK)
                .rollupInterval(Duration.ofMillis(300)).rocksDbMemoryBytes(32L << 20)
                .build(), registry);
        assertTrue(aggregator.awaitRunning(Duration.ofMinutes(1)), "aggregator RUNNING");

        long now = CLOCK.millis();
        base = Instant.ofEpochMilli(now - now % 10_000 - 120_000);
        oldBase = base.minus(Duration.ofHours(5));
        try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(kafka.bootstrapServers())) {
            TestKafka.sendStacks(p, STACKS, WORK.stacks);
            for (long seq = 0; seq < 12; seq++) {
                Instant s = base.plusSeconds(10 * seq);
                TestKafka.sendBatch(p, SAMPLES, WORK.batch(Workload.Format.V2, "checkout", Map.of("pod", "a"), 0, "c0",
                        seq, s, s.plusSeconds(10)));
                TestKafka.sendBatch(p, SAMPLES, WORK.batch(Workload.Format.MIXED, "checkout", Map.of("pod", "b"), 1, "c1",
                        seq, s, s.plusSeconds(10)));
                WORK.addExpected(EXPECTED_CHECKOUT, 0, seq);
                WORK.addExpected(EXPECTED_CHECKOUT, 1, seq);
                WORK.addExpected(EXPECTED_POD_A, 0, seq);
                if (seq == 5) {
                    sendCorrupt(p);
                }
            }
            // Old data (5 h ago, every coarse bucket already closed): goes straight into every tier.
            for (long seq = 0; seq < 30; seq++) {
                Instant s = oldBase.plusSeconds(10 * seq);
                TestKafka.sendBatch(p, SAMPLES, WORK.batch("search", Map.of("pod", "s1"), 2, "c2", seq, s,
                        s.plusSeconds(10)));
                WORK.addExpected(EXPECTED_SEARCH, 2, seq);
            }
            // Replays: the same (collector id, sequence) again, must not count.
            for (long seq : new long[] {3, 4}) {
                Instant s = base.plusSeconds(10 * seq);
                TestKafka.sendBatch(p, SAMPLES, WORK.batch(Workload.Format.V2, "checkout", Map.of("pod", "a"), 0, "c0",
                        seq, s, s.plusSeconds(10)));
            }
            TestKafka.sendBatch(p, SAMPLES, WORK.batch(Workload.Format.MIXED, "checkout", Map.of("pod", "b"), 1, "c1",
                    0, base, base.plusSeconds(10)));
            p.flush();
        }
        long expectedTotal = EXPECTED_CHECKOUT.values().stream().mapToLong(Long::longValue).sum();
        long searchTotal = EXPECTED_SEARCH.values().stream().mapToLong(Long::longValue).sum();
        await(Duration.ofSeconds(150), "all windows counted", () -> total(collapsed("checkout", "")) == expectedTotal
                && registry.counter("stackstream.aggregator.replays.skipped").count() == 3
                && total(searchCollapsed()) == searchTotal);
    }

    private static void sendCorrupt(KafkaProducer<byte[], byte[]> p) {
        byte[] good = WireCodec.encode(WORK.batch("checkout", Map.of(), 9, "bad", 0, base, base.plusSeconds(10)));
        byte[] unknownSchema = good.clone();
        unknownSchema[2] ^= 0x5A;   // flips the fingerprint
        SampleBatch invalid = WORK.batch("", Map.of(), 9, "bad", 1, base, base.plusSeconds(10));
        // A window that leaves out its context, from a collector whose carrying window never came.
        SampleBatch orphan = WORK.batch("checkout", Map.of(), 9, "ghost", 3, base, base.plusSeconds(10));
        orphan.setContextOmitted(true);
        orphan.setService("");
        orphan.setLabels(Map.of());
        orphan.setProfileType(new dev.stackstream.wire.ProfileType("", "", 0L));
        List<byte[]> values = List.of("hello, not avro".getBytes(StandardCharsets.UTF_8),
                Arrays.copyOf(good, good.length / 2), unknownSchema, WireCodec.encode(invalid));
        for (byte[] v : values) {
            p.send(new ProducerRecord<>(SAMPLES, "bad".getBytes(StandardCharsets.UTF_8), v));
        }
        TestKafka.sendBatch(p, SAMPLES, orphan);    // keyed by its own collector id, as collectors do
    }

    @AfterAll
    static void stop() {
        if (aggregator != null) {
            aggregator.close();
        }
    }

    private static String range() {
        return "&from=" + enc(base.minusSeconds(60).toString()) + "&to=" + enc(base.plusSeconds(600).toString());
    }

    private static String collapsed(String service, String labels) {
        HttpResponse<String> r = TestKafka.get(aggregator.httpPort(), "/api/v1/profile?service=" + service + range()
                + "&format=collapsed" + (labels.isEmpty() ? "" : "&labels=" + enc(labels)), TOKEN);
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    private static String searchCollapsed() {
        return TestKafka.get(aggregator.httpPort(), "/api/v1/profile?service=search&format=collapsed&from="
                + enc(oldBase.minusSeconds(3600).toString()) + "&to=" + enc(oldBase.plusSeconds(7200).toString()),
                TOKEN).body();
    }

    private static long total(String collapsed) {
        return Workload.parseCollapsed(collapsed).values().stream().mapToLong(Long::longValue).sum();
    }

    @Test
    void totalsAreExactDespiteReplaysAndCorruptRecords() {
        assertEquals(EXPECTED_CHECKOUT, Workload.parseCollapsed(collapsed("checkout", "")));
        assertEquals(EXPECTED_POD_A, Workload.parseCollapsed(collapsed("checkout", "{pod=\"a\"}")));
        assertEquals(3.0, registry.counter("stackstream.aggregator.replays.skipped").count());
    }

    @Test
    void threadMatcherFiltersEntries() {
        Map<String, Long> got = Workload.parseCollapsed(collapsed("checkout", "{thread=~\"worker-.*\"}"));
        Map<String, Long> expected = new TreeMap<>();
        for (int i = 0; i < WORK.stacks.size(); i++) {
            if (WORK.thread(i).startsWith("worker-")) {
                Long c = EXPECTED_CHECKOUT.get(WORK.stacks.get(i).collapsed());
                if (c != null) {
                    expected.put(WORK.stacks.get(i).collapsed(), c);
                }
            }
        }
        assertEquals(expected, got);
    }

    @Test
    void deadLetterTopicGetsCorruptRecordsWithReasons() {
        List<ConsumerRecord<byte[], byte[]>> dlq = TestKafka.readAll(kafka.bootstrapServers(), DLQ, 5,
                Duration.ofSeconds(30));
        assertEquals(5, dlq.size());
        Set<String> reasons = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> r : dlq) {
            reasons.add(new String(r.headers().lastHeader(DeadLetters.REASON_HEADER).value(), StandardCharsets.UTF_8));
            String source = new String(r.headers().lastHeader(DeadLetters.SOURCE_HEADER).value(), StandardCharsets.UTF_8);
            assertTrue(source.startsWith(SAMPLES + "-"), source);
            assertTrue(r.headers().lastHeader(DeadLetters.ERROR_HEADER).value().length > 10);
        }
        assertEquals(Set.of("foreign-bytes", "truncated", "unknown-schema", "invalid", "context-unknown"), reasons);
        double dlqCount = registry.find("stackstream.aggregator.dlq.records").counters().stream()
                .mapToDouble(c -> c.count()).sum();
        assertEquals(5.0, dlqCount);
    }

    @Test
    void rollupTiersSumToTheFinestTier() throws Exception {
        Instant from = base.minus(Duration.ofHours(1));
        Instant to = base.plus(Duration.ofHours(2));
        long expected = EXPECTED_CHECKOUT.values().stream().mapToLong(Long::longValue).sum();
        // Direct path: the old service's buckets were closed at ingest and written to every tier.
        long search = EXPECTED_SEARCH.values().stream().mapToLong(Long::longValue).sum();
        Map<String, Long> old = aggregator.tierTotals("search", oldBase.minus(Duration.ofHours(1)),
                oldBase.plus(Duration.ofHours(2)));
        assertEquals(Map.of("10s", search, "1m", search, "1h", search), old);
        // Rollup path: move time on by 2 h so the open 1 m and 1 h buckets close and roll up.
        assertEquals(expected, aggregator.tierTotals("checkout", from, to).get("10s"));
        CLOCK.advance(Duration.ofHours(2));
        await(Duration.ofSeconds(30), "rollups", () ->
                aggregator.tierTotals("checkout", from, to).equals(Map.of("10s", expected, "1m", expected, "1h", expected)));
        // And the planner, now reading the coarse buckets, still gives the exact profile.
        assertEquals(EXPECTED_CHECKOUT, Workload.parseCollapsed(collapsed("checkout", "")));
        assertEquals(EXPECTED_SEARCH, Workload.parseCollapsed(searchCollapsed()));
    }

    @Test
    void everyRendererFormatIsServed() {
        for (Renderer r : Renderers.all()) {
            HttpResponse<String> resp = TestKafka.get(aggregator.httpPort(),
                    "/api/v1/profile?service=checkout" + range() + "&format=" + r.format(), TOKEN);
            assertEquals(200, resp.statusCode(), r.format() + ": " + resp.body());
            assertTrue(resp.headers().firstValue("Content-Type").orElse("").startsWith(r.mediaType().split(";")[0]),
                    r.format() + " content type " + resp.headers().firstValue("Content-Type"));
            assertTrue(!resp.body().isEmpty(), r.format());
        }
    }

    @Test
    void catalogueSummaryTimelineAndDiff() throws Exception {
        int port = aggregator.httpPort();
        JsonNode services = JSON.readTree(TestKafka.get(port, "/api/v1/services", TOKEN).body()).get("services");
        assertEquals(Set.of("checkout", "search"), names(services));
        JsonNode types = JSON.readTree(TestKafka.get(port, "/api/v1/profile-types?service=checkout", TOKEN).body());
        assertEquals("cpu", types.get("profileTypes").get(0).get("name").asText());
        JsonNode labels = JSON.readTree(TestKafka.get(port, "/api/v1/labels?service=checkout", TOKEN).body());
        assertEquals("pod", labels.get("labels").get(0).asText());
        JsonNode values = JSON.readTree(TestKafka.get(port, "/api/v1/labels/pod/values?service=checkout", TOKEN).body());
        assertEquals(List.of("a", "b"), List.of(values.get("values").get(0).asText(), values.get("values").get(1).asText()));

        long total = EXPECTED_CHECKOUT.values().stream().mapToLong(Long::longValue).sum();
        JsonNode summary = JSON.readTree(TestKafka.get(port, "/api/v1/summary?service=checkout" + range(), TOKEN).body());
        assertEquals(total, summary.get("samples").asLong());
        // The range asked for spans 660 s; the samples cover 12 windows of 10 s. Elapsed time and
        // rate describe the buckets that hold samples (10 s, or 1 min where a rollup was read),
        // not the range asked about.
        double elapsed = summary.get("elapsedSeconds").asDouble();
        assertTrue(elapsed >= 120 && elapsed <= 240 && elapsed % 10 == 0, "bucket-aligned span of the data: " + elapsed);
        assertEquals(total / elapsed, summary.get("rateHz").asDouble(), 1e-6);
        String text = TestKafka.get(port, "/api/v1/summary?service=checkout&format=text" + range(), TOKEN).body();
        assertTrue(text.contains(Long.toString(total)), text);

        JsonNode timeline = JSON.readTree(TestKafka.get(port, "/api/v1/timeline?service=checkout" + range(), TOKEN).body());
        long sum = 0;
        for (JsonNode p : timeline.get("points")) {
            sum += p.get("count").asLong();
        }
        assertEquals(total, sum);
        assertEquals(total, timeline.get("total").asLong());

        JsonNode diff = JSON.readTree(TestKafka.get(port, "/api/v1/diff?service=checkout" + range()
                + "&labels=" + enc("{pod=\"b\"}") + "&baseline_labels=" + enc("{pod=\"a\"}"), TOKEN).body());
        long podA = EXPECTED_POD_A.values().stream().mapToLong(Long::longValue).sum();
        assertEquals(podA, diff.get("baseline").get("total").asLong());
        assertEquals(total - podA, diff.get("comparison").get("total").asLong());
        long base = 0;
        long comp = 0;
        for (JsonNode row : diff.get("stacks")) {
            base += row.get("baseline").asLong();
            comp += row.get("comparison").asLong();
        }
        assertEquals(podA, base);
        assertEquals(total - podA, comp);
    }

    /**
     * The JSON bodies keep their exact text (catalogue) and their field order (the rest): they were
     * maps built by hand and are typed records now; clients that read them by position must not see
     * a difference.
     */
    @Test
    void jsonBodiesKeepTheirShape() throws Exception {
        int port = aggregator.httpPort();
        assertEquals("{\"profileTypes\":[{\"name\":\"cpu\",\"unit\":\"nanoseconds\",\"period\":10101010}]}",
                TestKafka.get(port, "/api/v1/profile-types?service=checkout", TOKEN).body());
        assertEquals("{\"service\":\"checkout\",\"labels\":[\"pod\"]}",
                TestKafka.get(port, "/api/v1/labels?service=checkout", TOKEN).body());
        assertEquals("{\"service\":\"checkout\",\"label\":\"pod\",\"values\":[\"a\",\"b\"]}",
                TestKafka.get(port, "/api/v1/labels/pod/values?service=checkout", TOKEN).body());
        String services = TestKafka.get(port, "/api/v1/services", TOKEN).body();
        assertTrue(services.matches("\\{\"services\":\\[\\{\"name\":\"checkout\",\"profileTypes\":\\[\"cpu\"\\],"
                + "\"series\":2,\"lastSeen\":\"[0-9T:.Z-]+\"},\\{\"name\":\"search\",\"profileTypes\":\\[\"cpu\"\\],"
                + "\"series\":1,\"lastSeen\":\"[0-9T:.Z-]+\"}]}"), services);
        assertEquals(List.of("service", "type", "labels", "from", "to", "step", "total", "points"),
                fields(TestKafka.get(port, "/api/v1/timeline?service=checkout" + range(), TOKEN).body()));
        JsonNode timeline = JSON.readTree(TestKafka.get(port, "/api/v1/timeline?service=checkout" + range(), TOKEN).body());
        assertEquals(List.of("t", "count"), fields(timeline.get("points").get(0).toString()));
        String diffBody = TestKafka.get(port, "/api/v1/diff?service=checkout" + range()
                + "&labels=" + enc("{pod=\"b\"}") + "&baseline_labels=" + enc("{pod=\"a\"}"), TOKEN).body();
        assertEquals(List.of("service", "type", "normalized", "baseline", "comparison", "stacks"), fields(diffBody));
        JsonNode diff = JSON.readTree(diffBody);
        assertEquals(List.of("from", "to", "labels", "total"), fields(diff.get("baseline").toString()));
        assertEquals(List.of("stack", "baseline", "comparison", "baselineNormalized", "delta"),
                fields(diff.get("stacks").get(0).toString()));
        String error = TestKafka.get(port, "/api/v1/profile?service=checkout&from=yesterday", TOKEN).body();
        assertTrue(error.startsWith("{\"status\":400,\"error\":\"parameter 'from': ") && error.endsWith("\",\"parameter\":\"from\"}"),
                error);
        assertEquals("{\"status\":404,\"error\":\"unknown service 'nope': no collector has sent samples for it (or they"
                + " expired); see /api/v1/services\"}", TestKafka.get(port, "/api/v1/labels?service=nope", TOKEN).body());
        String health = TestKafka.get(port, "/healthz").body();
        assertTrue(health.matches("\\{\"status\":\"ok\",\"state\":\"RUNNING\",\"time\":\"[0-9T:.Z-]+\"}"), health);
    }

    private static List<String> fields(String json) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        JSON.readTree(json).fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static Set<String> names(JsonNode services) {
        Set<String> out = new HashSet<>();
        services.forEach(s -> out.add(s.get("name").asText()));
        return out;
    }

    @Test
    void badParametersAre400NamingTheParameter() throws Exception {
        String ok = "service=checkout";
        Map<String, String> cases = new TreeMap<>();
        cases.put("/api/v1/profile?from=now-1h", "service");
        cases.put("/api/v1/profile?" + ok + "&from=yesterday", "from");
        cases.put("/api/v1/profile?" + ok + "&to=now-1x", "to");
        cases.put("/api/v1/profile?" + ok + "&from=now-999999999999d", "from");
        cases.put("/api/v1/profile?" + ok + "&from=now&to=now-1h", "from");
        cases.put("/api/v1/profile?" + ok + "&labels=" + enc("{pod=x}"), "labels");
        cases.put("/api/v1/profile?" + ok + "&labels=" + enc("{pod=~\"(\"}"), "labels");
        cases.put("/api/v1/profile?" + ok + "&labels=" + enc("{pod=\"a\""), "labels");
        cases.put("/api/v1/profile?" + ok + "&format=gif", "format");
        cases.put("/api/v1/profile?" + ok + "&type=", "type");
        cases.put("/api/v1/profile?" + ok + "&width=abc", "width");
        cases.put("/api/v1/profile?" + ok + "&threads=maybe", "threads");
        cases.put("/api/v1/profile?" + ok + "&palette=neon", "palette");
        cases.put("/api/v1/summary?" + ok + "&format=xml", "format");
        cases.put("/api/v1/timeline?" + ok + "&step=7x", "step");
        cases.put("/api/v1/timeline?" + ok + "&step=15s", "step");
        cases.put("/api/v1/diff?" + ok, "baseline_from");
        cases.put("/api/v1/diff?" + ok + "&baseline_from=later", "baseline_from");
        cases.put("/api/v1/diff?" + ok + "&baseline_labels=" + enc("{a=b}"), "baseline_labels");
        cases.put("/api/v1/labels", "service");
        cases.put("/api/v1/labels/" + enc("9bad") + "/values?" + ok, "name");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            HttpResponse<String> r = TestKafka.get(aggregator.httpPort(), c.getKey(), TOKEN);
            assertEquals(400, r.statusCode(), c.getKey() + " -> " + r.body());
            JsonNode body = JSON.readTree(r.body());
            assertEquals(c.getValue(), body.get("parameter").asText(), c.getKey() + " -> " + r.body());
            assertTrue(body.get("error").asText().contains(c.getValue()), r.body());
        }
    }

    @Test
    void unknownServiceOrTypeIs404AndAuthIsEnforced() throws Exception {
        for (String path : List.of("/api/v1/profile?service=nope", "/api/v1/summary?service=nope",
                "/api/v1/timeline?service=nope", "/api/v1/labels?service=nope",
                "/api/v1/profile-types?service=nope", "/api/v1/profile?service=checkout&type=page-faults")) {
            HttpResponse<String> r = TestKafka.get(aggregator.httpPort(), path, TOKEN);
            assertEquals(404, r.statusCode(), path + " -> " + r.body());
            assertTrue(JSON.readTree(r.body()).get("error").asText().length() > 10);
        }
        assertEquals(401, TestKafka.get(aggregator.httpPort(), "/api/v1/services").statusCode());
        assertEquals(401, TestKafka.get(aggregator.httpPort(), "/api/v1/services", "wrong").statusCode());
        assertEquals(200, TestKafka.get(aggregator.httpPort(), "/healthz").statusCode());
        HttpResponse<String> ui = TestKafka.get(aggregator.httpPort(), "/");
        assertEquals(200, ui.statusCode());
        assertTrue(ui.body().contains("/api/v1/profile"));
    }
}
