package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * The pre-merged series: an unfiltered, thread-filtered or dimension-filtered query (read from the
 * merges) answers exactly what the same query forced onto the pod series answers, and the merge's
 * buckets hold exactly the pod series' totals in every tier, replays included. A dimension
 * configured after data arrived is read from the pod series until its cutover.
 */
class MergedSeriesTest {
    private static final Workload WORK = new Workload(20);
    private static final int PODS = 6;
    private static final int WINDOWS = 18;

    @Test
    void mergesEqualTheSumOfThePodSeries() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        String app = "agg-merge-" + System.nanoTime();
        Path state = Files.createTempDirectory("agg-merge");
        AggregatorConfig.Builder common = AggregatorConfig.builder(kafka.bootstrapServers())
                .applicationId(app).samplesTopic(app + "-samples").stacksTopic(app + "-stacks")
                .dlqTopic(app + "-dlq").topicPartitions(3).httpPort(0).rocksDbMemoryBytes(32L << 20).stateDir(state);
        Map<String, Long> all = new TreeMap<>();
        Map<String, Long> zoneA = new TreeMap<>();
        Map<String, Long> pod1 = new TreeMap<>();
        long now = System.currentTimeMillis();
        Instant base = Instant.ofEpochMilli(now - now % 60_000 - 30L * 60_000);
        String range = "&from=" + enc(base.minusSeconds(60).toString()) + "&to=" + enc(base.plusSeconds(600).toString());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Aggregator a = Aggregator.start(common.mergeLabels(List.of("zone")).build(), registry)) {
            assertTrue(a.awaitRunning(Duration.ofSeconds(90)));
            try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(kafka.bootstrapServers())) {
                TestKafka.sendStacks(p, app + "-stacks", WORK.stacks);
                for (long seq = 0; seq < WINDOWS; seq++) {
                    for (int c = 0; c < PODS; c++) {
                        Map<String, String> labels = labels(c);
                        Instant s = base.plusSeconds(10 * seq);
                        TestKafka.sendBatch(p, app + "-samples", WORK.batch(Workload.Format.V2, "shop", labels, c,
                                "collector-" + c, seq, s, s.plusSeconds(10)));
                        if (seq % 5 == 4) {   // a replay: counted once, in pods and merges alike
                            TestKafka.sendBatch(p, app + "-samples", WORK.batch(Workload.Format.V2, "shop", labels, c,
                                    "collector-" + c, seq - 2, s.minusSeconds(20), s.minusSeconds(10)));
                        }
                        WORK.addExpected(all, c, seq);
                        if (c % 2 == 0) {
                            WORK.addExpected(zoneA, c, seq);
                        }
                        if (c == 1) {
                            WORK.addExpected(pod1, c, seq);
                        }
                    }
                }
                p.flush();
            }
            String profile = "/api/v1/profile?service=shop&format=collapsed" + range;
            long total = all.values().stream().mapToLong(Long::longValue).sum();
            await(Duration.ofSeconds(120), "every window counted", () ->
                    Workload.parseCollapsed(TestKafka.get(a.httpPort(), profile).body()).values().stream()
                            .mapToLong(Long::longValue).sum() >= total);

            // Merged (unfiltered) and forced onto the pod series (a matcher on pod) agree with the truth.
            double podReads = seriesRead(registry, "pod");
            double mergedReads = seriesRead(registry, "merged");
            assertEquals(all, collapsed(a, profile));
            assertEquals(podReads, seriesRead(registry, "pod"), "an unfiltered query reads no pod series");
            assertTrue(seriesRead(registry, "merged") > mergedReads, "it reads the merge");
            assertTrue(seriesRead(registry, "merged") - mergedReads <= 3, "one merge per partition");
            assertEquals(all, collapsed(a, profile + "&labels=" + enc("{pod=~\".+\"}")));
            // Thread matchers filter a merge's entries as they filter a pod series'.
            assertEquals(collapsed(a, profile + "&labels=" + enc("{pod=~\".+\",thread=\"main\"}")),
                    collapsed(a, profile + "&labels=" + enc("{thread=\"main\"}")));
            // The zone dimension merge, and the same selection from pod series.
            assertEquals(zoneA, collapsed(a, profile + "&labels=" + enc("{zone=\"a\"}")));
            assertEquals(zoneA, collapsed(a, profile + "&labels=" + enc("{zone=\"a\",pod=~\".+\"}")));
            // Filtered queries read the matching pod series, as before.
            assertEquals(pod1, collapsed(a, profile + "&labels=" + enc("{pod=\"p1\"}")));
            assertEquals(String.valueOf(PODS), TestKafka.get(a.httpPort(), profile).headers()
                    .firstValue("X-Stackstream-Series").orElseThrow(), "the header still counts the pods merged");
            // The timeline reads the merge too, step by step the same.
            String timeline = "/api/v1/timeline?service=shop&step=1m" + range;
            String points = TestKafka.get(a.httpPort(), timeline).body().replaceAll(".*\"total\"", "");
            assertTrue(points.contains("\"count\":"), points);
            assertEquals(TestKafka.get(a.httpPort(), timeline + "&labels=" + enc("{pod=~\".+\"}")).body()
                    .replaceAll(".*\"total\"", ""), points);
            // Bucket by bucket in every tier: the merge holds the pod series' sum.
            Map<String, Long> pods = a.tierTotals("shop", base.minusSeconds(3600), base.plusSeconds(3600));
            assertEquals(total, pods.get("10s"));
            assertEquals(pods, a.mergedTierTotals("shop", base.minusSeconds(3600), base.plusSeconds(3600)));
        }

        // A dimension configured later: its merge lacks the windows counted before, so queries on it read
        // the pod series until its cutover and stay exact.
        SimpleMeterRegistry later = new SimpleMeterRegistry();
        try (Aggregator b = Aggregator.start(common.mergeLabels(List.of("zone", "version")).build(), later)) {
            assertTrue(b.awaitRunning(Duration.ofSeconds(90)));
            try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(kafka.bootstrapServers())) {
                Instant s = base.plusSeconds(10 * WINDOWS);   // one more window starts the new merge
                TestKafka.sendBatch(p, app + "-samples", WORK.batch(Workload.Format.V2, "shop", labels(0), 0,
                        "collector-0", WINDOWS, s, s.plusSeconds(10)));
                WORK.addExpected(all, 0, WINDOWS);
                p.flush();
            }
            String profile = "/api/v1/profile?service=shop&format=collapsed" + range;
            long total = all.values().stream().mapToLong(Long::longValue).sum();
            await(Duration.ofSeconds(120), "the late window counted", () -> TestKafka.get(b.httpPort(), profile)
                    .statusCode() == 200 && Workload.parseCollapsed(TestKafka.get(b.httpPort(), profile).body())
                    .values().stream().mapToLong(Long::longValue).sum() >= total);
            assertEquals(all, collapsed(b, profile));
            double podReads = seriesRead(later, "pod");
            assertEquals(all, collapsed(b, profile + "&labels=" + enc("{version=\"1\"}")));
            assertTrue(seriesRead(later, "pod") >= podReads + PODS, "before its cutover the version merge is not read");
        }
    }

    private static double seriesRead(SimpleMeterRegistry registry, String kind) {
        var c = registry.find("stackstream.aggregator.query.series.read").tag("kind", kind).counter();
        return c == null ? 0 : c.count();
    }

    private static Map<String, String> labels(int pod) {
        return Map.of("pod", "p" + pod, "zone", pod % 2 == 0 ? "a" : "b", "version", "1");
    }

    private static Map<String, Long> collapsed(Aggregator a, String path) {
        var r = TestKafka.get(a.httpPort(), path);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return Workload.parseCollapsed(r.body());
    }
}
