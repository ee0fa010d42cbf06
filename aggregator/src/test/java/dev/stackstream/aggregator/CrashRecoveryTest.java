package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * The aggregator runs as its own JVM and is killed with SIGKILL several times while a producer keeps
 * writing windows, some of them twice (replays). After a last restart every window must be counted
 * exactly once: no loss from the kills, no double count from the replays or from re-processing
 * after a kill (exactly_once_v2 + the changelogged dedup store). Collectors write v2 compact batches,
 * v1 batches and mixed ones: the index bindings live in a changelogged store too, so a window
 * re-processed after a kill still resolves its indexes. The service merge (what the unfiltered
 * query reads) and the pod series (what a pod matcher reads) both hold exactly the windows sent.
 */
class CrashRecoveryTest {
    private static final Workload WORK = new Workload(25);
    private static final int COLLECTORS = 3;
    private static final int WINDOWS = 120;
    /** One collector per wire form: compact v2 (the collector default), v1, and both mixed in a batch. */
    private static final Workload.Format[] FORMATS = {Workload.Format.V2, Workload.Format.V1, Workload.Format.MIXED};

    @Test
    void exactTotalsAfterRepeatedKill9() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        {
            ForkedAggregator aggregator = ForkedAggregator.withNewTopics(kafka.bootstrapServers(), "crash",
                    "--instance-id", "crash-test-1", "--kafka-property", "session.timeout.ms=10000");
            int port = aggregator.httpPort();
            Path log = aggregator.log();

            Map<String, Long> expected = new TreeMap<>();
            long now = System.currentTimeMillis();
            Instant base = Instant.ofEpochMilli(now - now % 10_000 - 30L * 60_000);
            AtomicBoolean producing = new AtomicBoolean(true);
            AtomicReference<Throwable> producerError = new AtomicReference<>();
            Thread producer = new Thread(() -> {
                try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(kafka.bootstrapServers())) {
                    TestKafka.sendStacks(p, "crash-stacks", WORK.stacks);
                    Random random = new Random(42);
                    for (long seq = 0; seq < WINDOWS; seq++) {
                        for (int c = 0; c < COLLECTORS; c++) {
                            Instant s = base.plusSeconds(10 * seq);
                            TestKafka.sendBatch(p, "crash-samples", WORK.batch(FORMATS[c], "crash", Map.of("pod", "p" + c),
                                    c, "collector-" + c, seq, s, s.plusSeconds(10)));
                            synchronized (expected) {
                                WORK.addExpected(expected, c, seq);
                            }
                            if (seq > 3 && random.nextInt(5) == 0) {   // a replay of a recent window
                                long old = seq - 1 - random.nextInt(3);
                                Instant os = base.plusSeconds(10 * old);
                                TestKafka.sendBatch(p, "crash-samples", WORK.batch(FORMATS[c], "crash",
                                        Map.of("pod", "p" + c), c, "collector-" + c, old, os, os.plusSeconds(10)));
                            }
                        }
                        p.flush();
                        Thread.sleep(60);
                    }
                } catch (Throwable t) {
                    producerError.set(t);
                } finally {
                    producing.set(false);
                }
            }, "test-producer");
            producer.start();

            Random random = new Random(7);
            int kills = 0;
            while (kills < 3 || producing.get()) {
                Process p = aggregator.start();
                try {
                    await(Duration.ofSeconds(90), "forked aggregator healthy",
                            () -> TestKafka.get(port, "/healthz").statusCode() == 200);
                    Thread.sleep(500 + random.nextInt(1500));
                } finally {
                    p.destroyForcibly();    // SIGKILL: no commit, no leave-group, no flush
                    p.waitFor(30, TimeUnit.SECONDS);
                }
                kills++;
            }
            producer.join();
            assertTrue(producerError.get() == null, "producer failed: " + producerError.get());

            Process last = aggregator.start();
            try {
                String query = "/api/v1/profile?service=crash&format=collapsed&from=" + enc(base.toString())
                        + "&to=" + enc(base.plusSeconds(10L * WINDOWS).toString());
                Map<String, Long> want;
                synchronized (expected) {
                    want = new TreeMap<>(expected);
                }
                long wantTotal = want.values().stream().mapToLong(Long::longValue).sum();
                await(Duration.ofSeconds(120), "every window counted after " + kills + " kills (log: " + log + ")",
                        () -> sum(Workload.parseCollapsed(TestKafka.get(port, query).body())) >= wantTotal);
                assertEquals(want, Workload.parseCollapsed(TestKafka.get(port, query).body()));
                // The unfiltered query reads the service merge; the same forced onto the pod series.
                assertEquals(want, Workload.parseCollapsed(TestKafka.get(port, query + "&labels="
                        + enc("{pod=~\"p.*\"}")).body()), "pod series after " + kills + " kills");
                assertTrue(kills >= 3);
            } finally {
                last.destroy();
                last.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    private static long sum(Map<String, Long> m) {
        return m.values().stream().mapToLong(Long::longValue).sum();
    }
}
