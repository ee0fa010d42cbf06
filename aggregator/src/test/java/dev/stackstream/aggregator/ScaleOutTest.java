package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/** Two instances share the partitions; each answers every query in full, identically. */
class ScaleOutTest {
    private static final Workload WORK = new Workload(30);

    @Test
    void twoInstancesAnswerIdentically() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        {
            String app = "agg-scale-" + System.nanoTime();
            AggregatorConfig.Builder common = AggregatorConfig.builder(kafka.bootstrapServers())
                    .applicationId(app).samplesTopic("scale-samples").stacksTopic("scale-stacks")
                    .dlqTopic("scale-dlq").topicPartitions(4).httpPort(0).rocksDbMemoryBytes(32L << 20);
            try (Aggregator a = Aggregator.start(common.stateDir(Files.createTempDirectory("agg-a")).build(),
                    new SimpleMeterRegistry());
                 Aggregator b = Aggregator.start(common.stateDir(Files.createTempDirectory("agg-b")).build(),
                         new SimpleMeterRegistry())) {
                await(Duration.ofSeconds(90), "both instances RUNNING with partitions of their own", () ->
                        a.isRunning() && b.isRunning()
                                && !a.localPartitions().isEmpty() && !b.localPartitions().isEmpty());
                assertTrue(java.util.Collections.disjoint(a.localPartitions(), b.localPartitions()));

                Map<String, Long> expected = new TreeMap<>();
                long now = System.currentTimeMillis();
                Instant base = Instant.ofEpochMilli(now - now % 10_000 - 60_000);
                try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(kafka.bootstrapServers())) {
                    TestKafka.sendStacks(p, "scale-stacks", WORK.stacks);
                    for (int c = 0; c < 8; c++) {
                        for (long seq = 0; seq < 5; seq++) {
                            Instant s = base.plusSeconds(10 * seq);
                            TestKafka.sendBatch(p, "scale-samples", WORK.batch("shop", Map.of("pod", "pod-" + c), c,
                                    "collector-" + c, seq, s, s.plusSeconds(10)));
                            WORK.addExpected(expected, c, seq);
                        }
                    }
                    p.flush();
                }
                String query = "/api/v1/profile?service=shop&format=collapsed&from="
                        + enc(base.minusSeconds(60).toString()) + "&to=" + enc(base.plusSeconds(120).toString());
                await(Duration.ofSeconds(150), "both instances see every window", () ->
                        Workload.parseCollapsed(TestKafka.get(a.httpPort(), query).body()).equals(expected)
                                && Workload.parseCollapsed(TestKafka.get(b.httpPort(), query).body()).equals(expected));
                HttpResponse<String> fromA = TestKafka.get(a.httpPort(), query);
                HttpResponse<String> fromB = TestKafka.get(b.httpPort(), query);
                assertEquals(200, fromA.statusCode());
                assertEquals(fromA.body(), fromB.body());
                assertEquals(expected, Workload.parseCollapsed(fromA.body()));
                assertFalse(fromA.body().isEmpty());
                for (String path : new String[] {"/api/v1/services", "/api/v1/labels/pod/values?service=shop",
                        "/api/v1/timeline?service=shop&from=" + enc(base.toString()) + "&to="
                                + enc(base.plusSeconds(60).toString())}) {
                    assertEquals(TestKafka.get(a.httpPort(), path).body().replaceAll("\"lastSeen\":\"[^\"]*\"", ""),
                            TestKafka.get(b.httpPort(), path).body().replaceAll("\"lastSeen\":\"[^\"]*\"", ""), path);
                }
            }
        }
    }
}
