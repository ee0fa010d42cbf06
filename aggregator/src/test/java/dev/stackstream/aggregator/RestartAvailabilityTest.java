package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * The aggregator command in its own JVM, SIGKILLed and restarted at once, several times: from the
 * restart until the answer is complete again, every answer to a profile query is either 503 with
 * {@code Retry-After} (or no connection while the JVM starts), or the full, exact profile: never a
 * 200 that shows less. The instance is started without {@code --instance-id}: its static group
 * membership comes from the id kept in its state directory, which is what lets a restart take its
 * partitions back at once instead of after the dead member's session timeout.
 *
 * <p>The time to full answers is printed per restart (the numbers the README quotes) and asserted
 * against 45 s, the default session timeout that a restarted member without static membership
 * waits out (43 s measured before): the one bound that tells the fix apart whatever else runs on
 * the machine. The 10 s target itself is a benchmark number, not an assertion: this 2-core machine
 * runs several builds at once (load average 7 to 30 during its runs), and the same restart took
 * 11 s at load 10 and 23 s at load 25.
 */
class RestartAvailabilityTest {
    private static final Workload WORK = new Workload(20);
    private static final int COLLECTORS = 3;
    private static final int WINDOWS = 40;
    private static final int RESTARTS = 3;

    @Test
    void fullAnswersSoonAfterKill9AndNeverAnEmpty200() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        ForkedAggregator aggregator = ForkedAggregator.withNewTopics(kafka.bootstrapServers(), "restart");
        int port = aggregator.httpPort();
        Path log = aggregator.log();

        Map<String, Long> expected = new TreeMap<>();
        long now = System.currentTimeMillis();
        Instant base = Instant.ofEpochMilli(now - now % 10_000 - 20L * 60_000);
        try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(kafka.bootstrapServers())) {
            TestKafka.sendStacks(p, "restart-stacks", WORK.stacks);
            for (long seq = 0; seq < WINDOWS; seq++) {
                for (int c = 0; c < COLLECTORS; c++) {
                    Instant s = base.plusSeconds(10 * seq);
                    TestKafka.sendBatch(p, "restart-samples", WORK.batch("restart", Map.of("pod", "p" + c), c,
                            "collector-" + c, seq, s, s.plusSeconds(10)));
                    WORK.addExpected(expected, c, seq);
                }
            }
            p.flush();
        }
        String query = "/api/v1/profile?service=restart&format=collapsed&from=" + enc(base.toString())
                + "&to=" + enc(base.plusSeconds(10L * WINDOWS).toString());

        Process process = aggregator.start();
        List<Double> seconds = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        try {
            String[] last = {"no answer"};
            try {
                await(Duration.ofSeconds(180), "the first start counts every window", () -> {
                    HttpResponse<String> r = TestKafka.get(port, query);
                    last[0] = r.statusCode() + " " + r.body().length() + " bytes: "
                            + r.body().substring(0, Math.min(300, r.body().length()));
                    return expected.equals(Workload.parseCollapsed(r.body()));
                });
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; last answer " + last[0] + " (log: " + log + ")", e);
            }
            for (int i = 0; i < RESTARTS; i++) {
                process.destroyForcibly();      // SIGKILL: no commit, no checkpoint, no leave-group
                process.waitFor(30, TimeUnit.SECONDS);
                long restarted = System.nanoTime();
                process = aggregator.start();
                while (true) {
                    assertTrue(System.nanoTime() - restarted < TimeUnit.SECONDS.toNanos(120),
                            "no full answer 120 s after restart " + i + " (log: " + log + ")");
                    HttpResponse<String> r;
                    try {
                        r = TestKafka.get(port, query);
                    } catch (RuntimeException notListeningYet) {
                        Thread.sleep(50);
                        continue;
                    }
                    if (r.statusCode() == 200) {
                        if (expected.equals(Workload.parseCollapsed(r.body()))) {
                            break;
                        }
                        wrong.add("restart " + i + ": 200 with " + r.body().length() + " bytes");
                    } else if (r.statusCode() != 503 || r.headers().firstValue("Retry-After").isEmpty()) {
                        wrong.add("restart " + i + ": " + r.statusCode() + " " + r.headers().map() + " " + r.body());
                    }
                    Thread.sleep(50);
                }
                seconds.add((System.nanoTime() - restarted) / 1e9);
            }
        } finally {
            process.destroy();
            process.waitFor(30, TimeUnit.SECONDS);
        }
        List<Double> sorted = new ArrayList<>(seconds);
        sorted.sort(null);
        System.out.printf("restart to full answers after kill -9: %s s, median %.1f s%n", seconds,
                sorted.get(sorted.size() / 2));
        assertEquals(List.of(), wrong, "answers between a restart and the full answer (log: " + log + ")");
        for (double s : seconds) {
            assertTrue(s < 45, "full answers only " + s + " s after a restart: " + seconds + " (log: " + log + ")");
        }
    }
}
