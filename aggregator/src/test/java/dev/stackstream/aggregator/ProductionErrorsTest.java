package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.aggregator.engine.DeadLetters;
import dev.stackstream.aggregator.engine.RefusedDeadLetters;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.StackCount;
import dev.stackstream.wire.StackId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * Records larger than the topics the aggregator writes take, on the real broker with topics whose
 * {@code max.message.bytes} is small. Read at start (TopicLimits): a dead letter is cut to fit its
 * topic, and a bucket is folded to fit its changelog, while the aggregator stays RUNNING and honest
 * totals stay exact. A dead-letter topic made smaller after the start (the residual case the limits
 * read at start cannot see) refuses the letter: that costs one replay and a stub takes its place.
 */
class ProductionErrorsTest {
    private static final Workload WORK = new Workload(5);

    @Test
    void aDeadLetterRefusedByATopicShrunkAfterTheStartIsStubbedAndIngestGoesOn() throws Exception {
        String bootstrap = SharedKafka.get().bootstrapServers();
        String name = "prod-dlq-" + System.nanoTime();
        createTopic(bootstrap, name + "-dlq", Map.of());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        long now = System.currentTimeMillis();
        Instant base = Instant.ofEpochMilli(now - now % 10_000 - 120_000);
        Map<String, Long> honest = new TreeMap<>();
        try (Aggregator aggregator = start(bootstrap, name, registry);
             KafkaProducer<byte[], byte[]> p = TestKafka.producer(bootstrap)) {
            // The aggregator read the broker's default limit; now the topic takes 8 KiB only.
            shrink(bootstrap, name + "-dlq", 8192);
            TestKafka.sendStacks(p, name + "-stacks", WORK.stacks);
            // 20 KB that are no window: dead-lettered whole, and the topic takes at most 8 KiB.
            long junkOffset = sendWindowsAndJunk(p, name, base, 10, 5, 0, honest);
            long expected = honest.values().stream().mapToLong(Long::longValue).sum();
            await(Duration.ofSeconds(120), "every honest window counted", () -> aggregator.isRunning()
                    && aggregator.tierTotals("svc", base.minusSeconds(60), base.plusSeconds(600)).get("10s") == expected);

            List<ConsumerRecord<byte[], byte[]>> dlq = TestKafka.readAll(bootstrap, name + "-dlq", 1,
                    Duration.ofSeconds(30)).stream().filter(r -> r.headers().lastHeader(DeadLetters.SOURCE_HEADER) != null)
                    .toList();
            assertEquals(1, dlq.size(), "one dead letter: the stub");
            ConsumerRecord<byte[], byte[]> stub = dlq.get(0);
            assertEquals(RefusedDeadLetters.STUB_REASON, header(stub, DeadLetters.REASON_HEADER));
            assertEquals(name + "-samples-0@" + junkOffset, header(stub, DeadLetters.SOURCE_HEADER));
            String error = header(stub, DeadLetters.ERROR_HEADER);
            assertTrue(error.contains("reason foreign-bytes") && error.contains("RecordTooLargeException"), error);
            assertNull(stub.value(), "the stub leaves the value at its source offset");
            assertEquals("junk", new String(stub.key(), StandardCharsets.UTF_8));

            assertEquals(1.0, registry.counter("stackstream.aggregator.production.errors", "topic", "dead-letters",
                    "error", "RecordTooLargeException", "action", "stub").count(), "the refusal counted once");
            assertEquals(0.0, registry.find("stackstream.aggregator.production.errors").tag("action", "fail")
                    .counters().stream().mapToDouble(c -> c.count()).sum(), "no other write taken for failed");
            assertEquals(1.0, registry.counter("stackstream.aggregator.dlq.records", "reason",
                    RefusedDeadLetters.STUB_REASON).count());
            assertEquals(KafkaStreams.State.RUNNING, aggregator.state(), "the client never stopped (ERROR is final)");
            // Once more after the replay settled: nothing counted twice.
            assertEquals(expected, aggregator.tierTotals("svc", base.minusSeconds(60), base.plusSeconds(600))
                    .get("10s"));
        }
    }

    @Test
    void aDeadLetterLargerThanItsTopicTakesIsCutToFitAtOnce() throws Exception {
        String bootstrap = SharedKafka.get().bootstrapServers();
        String name = "prod-dlq-cut-" + System.nanoTime();
        createTopic(bootstrap, name + "-dlq", Map.of("max.message.bytes", "8192"));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        long now = System.currentTimeMillis();
        Instant base = Instant.ofEpochMilli(now - now % 10_000 - 120_000);
        Map<String, Long> honest = new TreeMap<>();
        try (Aggregator aggregator = start(bootstrap, name, registry);
             KafkaProducer<byte[], byte[]> p = TestKafka.producer(bootstrap)) {
            TestKafka.sendStacks(p, name + "-stacks", WORK.stacks);
            // 20 KB that are no window, with 2 KB of headers: far more than the topic's 8 KiB.
            long junkOffset = sendWindowsAndJunk(p, name, base, 6, 3, 2048, honest);
            long expected = honest.values().stream().mapToLong(Long::longValue).sum();
            await(Duration.ofSeconds(120), "every honest window counted", () -> aggregator.isRunning()
                    && aggregator.tierTotals("svc", base.minusSeconds(60), base.plusSeconds(600)).get("10s") == expected);
            List<ConsumerRecord<byte[], byte[]>> dlq = TestKafka.readAll(bootstrap, name + "-dlq", 1,
                    Duration.ofSeconds(30));
            assertEquals(1, dlq.size(), "one dead letter, not a stub");
            ConsumerRecord<byte[], byte[]> letter = dlq.get(0);
            assertEquals("foreign-bytes", header(letter, DeadLetters.REASON_HEADER));
            assertEquals(name + "-samples-0@" + junkOffset, header(letter, DeadLetters.SOURCE_HEADER));
            assertEquals("20000", header(letter, DeadLetters.CUT_HEADER));
            assertEquals(2048, letter.headers().lastHeader("trace").value().length, "the original headers kept");
            assertTrue(letter.value().length > 4000 && letter.value().length < 8192,
                    "as much of the value as fits: " + letter.value().length);
            assertEquals(0.0, registry.find("stackstream.aggregator.production.errors").counters().stream()
                    .mapToDouble(c -> c.count()).sum(), "nothing refused, no replay");
            assertEquals(KafkaStreams.State.RUNNING, aggregator.state());
        }
    }

    @Test
    void aBucketLargerThanItsChangelogTakesIsFoldedAndTheClientStaysRunning() throws Exception {
        String bootstrap = SharedKafka.get().bootstrapServers();
        String name = "prod-changelog-" + System.nanoTime();
        // The finest tier's changelog, created before Streams would: too small for a bucket of 300 stacks.
        createTopic(bootstrap, name + "-counts-10s-changelog", Map.of("max.message.bytes", "1024"));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        long now = System.currentTimeMillis();
        Instant base = Instant.ofEpochMilli(now - now % 10_000 - 120_000);
        try (Aggregator aggregator = start(bootstrap, name, registry);
             KafkaProducer<byte[], byte[]> p = TestKafka.producer(bootstrap)) {
            TestKafka.sendStacks(p, name + "-stacks", WORK.stacks);
            SampleBatch wide = WORK.batch("svc", Map.of("pod", "a"), 1, "c1", 0, base, base.plusSeconds(10));
            List<StackCount> entries = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                entries.add(new StackCount(new StackId(ByteBuffer.allocate(16).putLong(3).putLong(i).array()),
                        1L + i, null, null));
            }
            wide.setEntries(entries);
            TestKafka.sendBatch(p, name + "-samples", wide);
            // A second window into the same bucket: the folded bucket is merged and folded again.
            SampleBatch more = WORK.batch("svc", Map.of("pod", "a"), 1, "c1", 1, base, base.plusSeconds(10));
            more.setEntries(entries.subList(0, 100));
            TestKafka.sendBatch(p, name + "-samples", more);
            p.flush();
            long expected = 300L * 301 / 2 + 100L * 101 / 2;
            await(Duration.ofSeconds(120), "both windows counted", () -> aggregator.isRunning()
                    && aggregator.tierTotals("svc", base.minusSeconds(60), base.plusSeconds(600)).get("10s") == expected);
            assertTrue(registry.counter("stackstream.aggregator.bucket.entries.folded", "tier", "10s").count() >= 250,
                    "the folded entries counted");
            assertEquals(0.0, registry.counter("stackstream.aggregator.bucket.entries.folded", "tier", "1m").count(),
                    "a changelog of the broker's default limit folds nothing");
            assertEquals(0.0, registry.find("stackstream.aggregator.production.errors").counters().stream()
                    .mapToDouble(c -> c.count()).sum(), "no changelog record refused");
            assertEquals(KafkaStreams.State.RUNNING, aggregator.state(), "the client never stopped");
            assertEquals(expected, aggregator.tierTotals("svc", base.minusSeconds(60), base.plusSeconds(600))
                    .get("10s"), "the folded entries still count");
            // What the changelog holds: buckets within their bound, key and headers within the headroom.
            List<ConsumerRecord<byte[], byte[]>> changelog = TestKafka.readAll(bootstrap,
                    name + "-counts-10s-changelog", 1, Duration.ofSeconds(30));
            assertTrue(!changelog.isEmpty(), "the bucket is in its changelog");
            for (ConsumerRecord<byte[], byte[]> r : changelog) {
                int headers = 0;
                for (var h : r.headers()) {
                    headers += h.key().length() + (h.value() == null ? 0 : h.value().length);
                }
                assertTrue(r.serializedValueSize() <= 1024 - 256, "bucket of " + r.serializedValueSize() + " bytes");
                assertTrue(r.serializedKeySize() + headers <= 100, "key and headers take the headroom's share");
            }
        }
    }

    @Test
    void aChangelogShrunkAtRuntimeStopsTheClientAndARestartFoldsToTheNewLimit() throws Exception {
        String bootstrap = SharedKafka.get().bootstrapServers();
        String name = "prod-shrunk-" + System.nanoTime();
        java.nio.file.Path stateDir = Files.createTempDirectory(name);
        long now = System.currentTimeMillis();
        Instant base = Instant.ofEpochMilli(now - now % 10_000 - 120_000);
        SampleBatch wide = WORK.batch("svc", Map.of("pod", "a"), 1, "c1", 0, base, base.plusSeconds(10));
        List<StackCount> entries = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            entries.add(new StackCount(new StackId(ByteBuffer.allocate(16).putLong(5).putLong(i).array()), 2L, null,
                    null));
        }
        wide.setEntries(entries);
        SimpleMeterRegistry first = new SimpleMeterRegistry();
        try (Aggregator aggregator = start(bootstrap, name, stateDir, first);
             KafkaProducer<byte[], byte[]> p = TestKafka.producer(bootstrap)) {
            // Read at start: the broker's default. Then the changelog is made smaller under it.
            shrink(bootstrap, name + "-counts-10s-changelog", 1024);
            TestKafka.sendStacks(p, name + "-stacks", WORK.stacks);
            TestKafka.sendBatch(p, name + "-samples", wide);
            p.flush();
            await(Duration.ofSeconds(120), "the client stopped", () -> aggregator.state() == KafkaStreams.State.ERROR);
            assertTrue(first.counter("stackstream.aggregator.production.errors", "topic", "changelog",
                    "error", "RecordTooLargeException", "action", "fail").count() >= 1, "the refusal counted");
        }
        SimpleMeterRegistry second = new SimpleMeterRegistry();
        try (Aggregator aggregator = start(bootstrap, name, stateDir, second)) {
            await(Duration.ofSeconds(120), "the window counted after the restart", () -> aggregator.isRunning()
                    && aggregator.tierTotals("svc", base.minusSeconds(60), base.plusSeconds(600)).get("10s") == 600);
            assertTrue(second.counter("stackstream.aggregator.bucket.entries.folded", "tier", "10s").count() > 0,
                    "folded to the limit read at the restart");
            assertEquals(0.0, second.find("stackstream.aggregator.production.errors").counters().stream()
                    .mapToDouble(c -> c.count()).sum(), "the restart did not meet the refusal again");
            assertEquals(KafkaStreams.State.RUNNING, aggregator.state());
        }
    }

    private static Aggregator start(String bootstrap, String name, SimpleMeterRegistry registry) throws Exception {
        return start(bootstrap, name, Files.createTempDirectory(name), registry);
    }

    private static Aggregator start(String bootstrap, String name, java.nio.file.Path stateDir,
                                    SimpleMeterRegistry registry) throws Exception {
        Aggregator aggregator = Aggregator.start(AggregatorConfig.builder(bootstrap).applicationId(name)
                .stateDir(stateDir).samplesTopic(name + "-samples").stacksTopic(name + "-stacks")
                .dlqTopic(name + "-dlq").topicPartitions(1).httpPort(0).rocksDbMemoryBytes(32L << 20).build(), registry);
        assertTrue(aggregator.awaitRunning(Duration.ofMinutes(1)), "aggregator RUNNING");
        return aggregator;
    }

    private static void createTopic(String bootstrap, String topic, Map<String, String> configs) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(configs))).all().get();
        }
    }

    /** Lowers the topic's max.message.bytes and waits until the broker says so. */
    private static void shrink(String bootstrap, String topic, int bytes) throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                    new ConfigEntry("max.message.bytes", Integer.toString(bytes)), AlterConfigOp.OpType.SET))))
                    .all().get();
            await(Duration.ofSeconds(30), "the topic shrunk", () -> {
                try {
                    return admin.describeConfigs(List.of(resource)).all().get().get(resource)
                            .get("max.message.bytes").value().equals(Integer.toString(bytes));
                } catch (Exception e) {
                    return false;
                }
            });
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String key) {
        return r.headers().lastHeader(key) == null ? null
                : new String(r.headers().lastHeader(key).value(), StandardCharsets.UTF_8);
    }

    /**
     * Sends {@code windows} honest windows of service svc (10 s apart from base, their samples added
     * to honest) and, before window {@code junkAt}, 20 KB of bytes that are no window (key "junk",
     * a "trace" header of {@code headerBytes} if not 0). Returns the junk record's offset.
     */
    private static long sendWindowsAndJunk(KafkaProducer<byte[], byte[]> p, String name, Instant base, int windows,
                                           int junkAt, int headerBytes, Map<String, Long> honest) throws Exception {
        long junkOffset = -1;
        for (int seq = 0; seq < windows; seq++) {
            if (seq == junkAt) {
                byte[] junk = new byte[20_000];
                Arrays.fill(junk, (byte) 'x');
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(name + "-samples",
                        "junk".getBytes(StandardCharsets.UTF_8), junk);
                if (headerBytes > 0) {
                    r.headers().add("trace", new byte[headerBytes]);
                }
                junkOffset = p.send(r).get().offset();
            }
            Instant s = base.plusSeconds(10L * seq);
            TestKafka.sendBatch(p, name + "-samples", WORK.batch("svc", Map.of("pod", "a"), 1, "c1", seq, s,
                    s.plusSeconds(10)));
            WORK.addExpected(honest, 1, seq);
            p.flush();
        }
        return junkOffset;
    }
}
