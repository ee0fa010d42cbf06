package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import java.io.File;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
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
 * against 30 s: three times the 10 s target, because this machine runs several builds at once and a
 * JVM start alone can take 5 s under that load; without static membership the restart waits for
 * the dead member's session (45 s by default), which the bound still tells apart.
 */
class RestartAvailabilityTest {
    private static final Workload WORK = new Workload(20);
    private static final int COLLECTORS = 3;
    private static final int WINDOWS = 40;
    private static final int RESTARTS = 3;

    @Test
    void fullAnswersSoonAfterKill9AndNeverAnEmpty200() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        Properties ap = new Properties();
        ap.put("bootstrap.servers", kafka.bootstrapServers());
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(List.of(new NewTopic("restart-samples", 3, (short) 1),
                    new NewTopic("restart-stacks", 3, (short) 1), new NewTopic("restart-dlq", 1, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
        }
        Path state = Files.createTempDirectory("agg-restart-state");
        Path log = Files.createTempFile("agg-restart", ".log");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> cmd = List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), AggregatorCommand.class.getName(),
                "--bootstrap-servers", kafka.bootstrapServers(), "--http-port", Integer.toString(port),
                "--state-dir", state.toString(), "--application-id", "agg-restart-" + System.nanoTime(),
                "--samples-topic", "restart-samples", "--stacks-topic", "restart-stacks", "--dlq-topic", "restart-dlq",
                "--rocksdb-memory", Long.toString(32L << 20));

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

        Process process = start(cmd, log);
        List<Double> seconds = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        try {
            await(Duration.ofSeconds(120), "the first start counts every window (log: " + log + ")",
                    () -> expected.equals(Workload.parseCollapsed(TestKafka.get(port, query).body())));
            for (int i = 0; i < RESTARTS; i++) {
                process.destroyForcibly();      // SIGKILL: no commit, no checkpoint, no leave-group
                process.waitFor(30, TimeUnit.SECONDS);
                long restarted = System.nanoTime();
                process = start(cmd, log);
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
            assertTrue(s < 30, "full answers only " + s + " s after a restart: " + seconds + " (log: " + log + ")");
        }
    }

    private static Process start(List<String> cmd, Path log) throws Exception {
        File f = log.toFile();
        return new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(f)).start();
    }
}
