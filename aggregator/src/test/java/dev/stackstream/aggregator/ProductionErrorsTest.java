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
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * Records Kafka refuses to take from the aggregator (ProductionErrorHandler), on the real broker with
 * topics whose {@code max.message.bytes} is small: a refused dead letter costs one replay and is
 * replaced by a stub while the aggregator stays RUNNING and honest totals stay exact; a refused
 * changelog record stops the client rather than let it go on with state it could not save.
 */
class ProductionErrorsTest {
    private static final Workload WORK = new Workload(5);

    @Test
    void aDeadLetterTooLargeForItsTopicIsStubbedAndIngestGoesOn() throws Exception {
        String bootstrap = SharedKafka.get().bootstrapServers();
        String name = "prod-dlq-" + System.nanoTime();
        createTopic(bootstrap, name + "-dlq", Map.of("max.message.bytes", "8192"));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        long now = System.currentTimeMillis();
        Instant base = Instant.ofEpochMilli(now - now % 10_000 - 120_000);
        Map<String, Long> honest = new TreeMap<>();
        try (Aggregator aggregator = start(bootstrap, name, registry);
             KafkaProducer<byte[], byte[]> p = TestKafka.producer(bootstrap)) {
            TestKafka.sendStacks(p, name + "-stacks", WORK.stacks);
            long junkOffset = -1;
            for (int seq = 0; seq < 10; seq++) {
                if (seq == 5) {
                    // 20 KB that are no window: dead-lettered whole, and the topic takes at most 8 KiB.
                    byte[] junk = new byte[20_000];
                    Arrays.fill(junk, (byte) 'x');
                    junkOffset = p.send(new ProducerRecord<>(name + "-samples", "junk".getBytes(StandardCharsets.UTF_8),
                            junk)).get().offset();
                }
                Instant s = base.plusSeconds(10L * seq);
                TestKafka.sendBatch(p, name + "-samples", WORK.batch("svc", Map.of("pod", "a"), 1, "c1", seq, s,
                        s.plusSeconds(10)));
                WORK.addExpected(honest, 1, seq);
                p.flush();
            }
            long expected = honest.values().stream().mapToLong(Long::longValue).sum();
            await(Duration.ofSeconds(120), "every honest window counted", () -> aggregator.isRunning()
                    && aggregator.tierTotals("svc", base.minusSeconds(60), base.plusSeconds(600)).get("10s") == expected);

            List<ConsumerRecord<byte[], byte[]>> dlq = TestKafka.readAll(bootstrap, name + "-dlq", 1,
                    Duration.ofSeconds(30));
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
    void aChangelogRecordTheBrokerRefusesStopsTheClientInsteadOfLosingState() throws Exception {
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
                entries.add(new StackCount(new StackId(ByteBuffer.allocate(16).putLong(3).putLong(i).array()), 1L,
                        null, null));
            }
            wide.setEntries(entries);
            TestKafka.sendBatch(p, name + "-samples", wide);
            p.flush();
            await(Duration.ofSeconds(120), "the client stopped", () -> aggregator.state() == KafkaStreams.State.ERROR);
            assertTrue(registry.counter("stackstream.aggregator.production.errors", "topic", "changelog",
                    "error", "RecordTooLargeException", "action", "fail").count() >= 1, "the refusal counted");
            assertEquals(0.0, registry.find("stackstream.aggregator.production.errors").tag("action", "stub")
                    .counters().stream().mapToDouble(c -> c.count()).sum(), "no changelog record stubbed or skipped");
        }
    }

    private static Aggregator start(String bootstrap, String name, SimpleMeterRegistry registry) throws Exception {
        Aggregator aggregator = Aggregator.start(AggregatorConfig.builder(bootstrap).applicationId(name)
                .stateDir(Files.createTempDirectory(name)).samplesTopic(name + "-samples").stacksTopic(name + "-stacks")
                .dlqTopic(name + "-dlq").topicPartitions(1).httpPort(0).rocksDbMemoryBytes(32L << 20).build(), registry);
        assertTrue(aggregator.awaitRunning(Duration.ofMinutes(1)), "aggregator RUNNING");
        return aggregator;
    }

    private static void createTopic(String bootstrap, String topic, Map<String, String> configs) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(configs))).all().get();
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String key) {
        return r.headers().lastHeader(key) == null ? null
                : new String(r.headers().lastHeader(key).value(), StandardCharsets.UTF_8);
    }
}
