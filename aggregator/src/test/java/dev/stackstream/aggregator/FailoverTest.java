package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * Two aggregator processes (standby replicas on, the default); one is killed with SIGKILL while the
 * other answers queries. Every answer during and after the loss is either the complete, exact
 * profile (a 200, from the survivor's own partitions and its standbys of the lost ones) or a 503 with
 * Retry-After: never a 200 that lacks the lost instance's partitions. Before the group notices the
 * loss (its session timeout), the survivor's caught-up standbys answer for the lost partitions.
 */
class FailoverTest {
    private static final Workload WORK = new Workload(15);
    private static final int COLLECTORS = 8;
    private static final int WINDOWS = 6;

    @Test
    void anInstanceKilledDuringQueriesYieldsNoWrong200() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        ForkedAggregator first = ForkedAggregator.withNewTopics(kafka.bootstrapServers(), "failover");
        ForkedAggregator second = first.peer();
        int portA = first.httpPort();
        int portB = second.httpPort();
        Process a = first.start();
        Process b = second.start();
        try {
            await(Duration.ofSeconds(120), "both instances healthy (logs " + first.log() + ", " + second.log() + ")", () ->
                    TestKafka.get(portA, "/healthz").statusCode() == 200 && TestKafka.get(portB, "/healthz").statusCode() == 200);
            Map<String, Long> expected = new TreeMap<>();
            long now = System.currentTimeMillis();
            Instant base = Instant.ofEpochMilli(now - now % 10_000 - 10L * 60_000);
            try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(kafka.bootstrapServers())) {
                TestKafka.sendStacks(p, "failover-stacks", WORK.stacks);
                for (int c = 0; c < COLLECTORS; c++) {
                    for (long seq = 0; seq < WINDOWS; seq++) {
                        Instant s = base.plusSeconds(10 * seq);
                        TestKafka.sendBatch(p, "failover-samples", WORK.batch("fo", Map.of("pod", "pod-" + c), c,
                                "collector-" + c, seq, s, s.plusSeconds(10)));
                        WORK.addExpected(expected, c, seq);
                    }
                }
                p.flush();
            }
            String query = "/api/v1/profile?service=fo&format=collapsed&from=" + enc(base.minusSeconds(60).toString())
                    + "&to=" + enc(base.plusSeconds(120).toString());
            await(Duration.ofSeconds(120), "both answer in full", () -> full(portA, query, expected)
                    && full(portB, query, expected));
            b.destroyForcibly();   // SIGKILL: no leave-group; a still sees b as the owner until its session ends
            int ok = 0;
            int unavailable = 0;
            long killed = System.nanoTime();
            long firstFullAfterKill = -1;
            for (int i = 0; i < 400 && (ok < 30 || unavailable + ok < 60); i++) {
                HttpResponse<String> r = TestKafka.get(portA, query);
                if (r.statusCode() == 200) {
                    assertEquals(expected, Workload.parseCollapsed(r.body()), "a 200 after the kill is complete");
                    ok++;
                    if (firstFullAfterKill < 0) {
                        firstFullAfterKill = System.nanoTime() - killed;
                    }
                } else {
                    assertEquals(503, r.statusCode(), r.body());
                    assertTrue(r.headers().firstValue("Retry-After").isPresent(), "a 503 says when to retry");
                    if (unavailable++ == 0) {
                        System.out.println("failover: first 503: " + r.body());
                    }
                }
                Thread.sleep(100);
            }
            System.out.printf("failover: %d full answers, %d 503s; first full answer %.1f s after the kill%n", ok,
                    unavailable, firstFullAfterKill / 1e9);
            assertTrue(ok >= 30, "the survivor answers in full again (" + ok + " full, " + unavailable + " 503)");
            assertTrue(standbyPartitionsRead(portA) > 0, "before the rebalance, standbys answered for the lost partitions");
            // Once the group notices, the survivor owns every partition and still answers exactly.
            await(Duration.ofSeconds(120), "the survivor active for every partition",
                    () -> TestKafka.activePartitions(portA, "fo").equals(java.util.Set.of(0, 1, 2)));
            System.out.printf("failover: the survivor owns every partition %.1f s after the kill%n",
                    (System.nanoTime() - killed) / 1e9);
            assertTrue(full(portA, query, expected), "full answers after the rebalance");
        } finally {
            a.destroyForcibly();
            b.destroyForcibly();
            a.waitFor(30, TimeUnit.SECONDS);
            b.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static boolean full(int port, String query, Map<String, Long> expected) {
        HttpResponse<String> r = TestKafka.get(port, query);
        return r.statusCode() == 200 && Workload.parseCollapsed(r.body()).equals(expected);
    }

    /** The survivor's count of partitions it read from standbys (its /metrics). */
    static double standbyPartitionsRead(int port) {
        for (String line : TestKafka.get(port, "/metrics").body().split("\n")) {
            if (line.startsWith("stackstream_aggregator_query_standby_partitions_total")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }
}
