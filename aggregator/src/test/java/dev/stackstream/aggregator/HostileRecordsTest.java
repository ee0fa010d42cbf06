package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.aggregator.engine.DeadLetters;
import dev.stackstream.aggregator.engine.IngestLimits;
import dev.stackstream.aggregator.query.StackDictionary;
import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Stack;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.StackCount;
import dev.stackstream.wire.StackId;
import dev.stackstream.wire.WireCodec;
import dev.stackstream.wire.WireFormatException;
import dev.stackstream.wire.WireModel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Records nobody honest writes, onto the topics of a running aggregator (real broker, real Streams
 * state), mixed with two honest collectors: each hostile case is dead-lettered with its reason or
 * bounded, the aggregator stays RUNNING and the honest totals stay exact. Then thousands of
 * mutations of real windows, with the same assertions.
 */
class HostileRecordsTest {
    private static final String SAMPLES = "hostile-samples";
    private static final String STACKS = "hostile-stacks";
    private static final String DLQ = "hostile-dlq";
    private static final Workload WORK = new Workload(30);
    private static final int FUZZ_RECORDS = 3_000;
    private static final MutableClock CLOCK = new MutableClock();

    private static EmbeddedKafka kafka;
    private static Aggregator aggregator;
    private static SimpleMeterRegistry registry;
    private static Instant base;
    private static final Map<String, Long> HONEST = new TreeMap<>();
    /** Reason code -> dead letters expected from the named cases. */
    private static final Map<String, Integer> EXPECTED_REASONS = new TreeMap<>();
    private static int fuzzRefusedLocally;
    /** Label sets sent for service "many": past the 2,000 series a service keeps per partition. */
    private static final int MANY_SERIES = 2_100;
    private static final Map<String, Long> MANY = new TreeMap<>();
    /** A stack of 3,000 frames f0 (root) .. f2999 (leaf): past the 2,048 frames a stack shows. */
    private static final Stack DEEP = deepStack(3_000);
    private static final Stack VICTIM = new Stack(List.of(Frame.named("victim", FrameKind.USER),
            Frame.named("leaf", FrameKind.USER)), false);

    @BeforeAll
    static void start() throws Exception {
        kafka = SharedKafka.get();
        registry = new SimpleMeterRegistry();
        aggregator = Aggregator.start(AggregatorConfig.builder(kafka.bootstrapServers())
                .applicationId("agg-hostile-" + System.nanoTime()).stateDir(Files.createTempDirectory("agg-hostile"))
                .samplesTopic(SAMPLES).stacksTopic(STACKS).dlqTopic(DLQ).topicPartitions(2)
                .httpPort(0).clock(CLOCK).rollupInterval(Duration.ofMillis(300)).rocksDbMemoryBytes(32L << 20)
                .build(), registry);
        assertTrue(aggregator.awaitRunning(Duration.ofMinutes(1)), "aggregator RUNNING");
        long now = CLOCK.millis();
        base = Instant.ofEpochMilli(now - now % 10_000 - 120_000);

        try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(kafka.bootstrapServers())) {
            TestKafka.sendStacks(p, STACKS, WORK.stacks);
            sendHostile(p);
            for (long seq = 0; seq < 12; seq++) {
                Instant s = base.plusSeconds(10 * seq);
                TestKafka.sendBatch(p, SAMPLES, WORK.batch(Workload.Format.V2, "checkout", Map.of("pod", "a"), 0,
                        "c0", seq, s, s.plusSeconds(10)));
                TestKafka.sendBatch(p, SAMPLES, WORK.batch("checkout", Map.of("pod", "b"), 1, "c1", seq, s,
                        s.plusSeconds(10)));
                WORK.addExpected(HONEST, 0, seq);
                WORK.addExpected(HONEST, 1, seq);
            }
            sendFuzz(p);
            p.flush();
        }
        long honestTotal = HONEST.values().stream().mapToLong(Long::longValue).sum();
        long expectedConsumed = 24 + hostileCount + FUZZ_RECORDS;
        await(Duration.ofSeconds(180), "every record consumed", () ->
                registry.counter("stackstream.aggregator.records.consumed", "topic", "samples").count()
                        >= expectedConsumed && total(collapsed("checkout")) == honestTotal);
    }

    private static int hostileCount;

    private static void send(KafkaProducer<byte[], byte[]> p, String key, byte[] value, String reason) {
        p.send(new ProducerRecord<>(SAMPLES, key.getBytes(StandardCharsets.UTF_8), value));
        hostileCount++;
        if (reason != null) {
            EXPECTED_REASONS.merge(reason, 1, Integer::sum);
        }
    }

    private static SampleBatch window(String service, String collectorId, long seq, Instant start) {
        return WORK.batch(service, Map.of("pod", "h"), 5, collectorId, seq, start, start.plusSeconds(10));
    }

    private static void sendHostile(KafkaProducer<byte[], byte[]> p) {
        // A collector with a broken clock: 1969 (this stopped Kafka Streams), 100 days ahead
        // (moved stream time and expired honest buckets), 200 days back (beyond every tier).
        send(p, "clock-1", WireCodec.encode(window("clocks", "clock-1", 0, Instant.ofEpochMilli(-10_000))),
                "window-too-old");
        send(p, "clock-2", WireCodec.encode(window("clocks", "clock-2", 0, base.plus(Duration.ofDays(100)))),
                "window-in-future");
        send(p, "clock-3", WireCodec.encode(window("clocks", "clock-3", 0, base.minus(Duration.ofDays(200)))),
                "window-too-old");
        // 15 bytes declaring a 2 GiB string.
        byte[] header = Arrays.copyOf(WireCodec.encode(window("x", "x", 0, base)), WireCodec.HEADER_BYTES);
        byte[] liar = Arrays.copyOf(header, 15);
        System.arraycopy(new byte[] {(byte) 0xFE, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F}, 0, liar, 10, 5);
        send(p, "liar", liar, "truncated");
        // A service name of 70 KiB (2-byte lengths in the collector index), then a window of the
        // same collector that leaves its context out: refused, so its context was never kept.
        SampleBatch longName = window("s".repeat(70 * 1024), "long-1", 0, base);
        send(p, "long-1", WireCodec.encode(longName), "limits");
        SampleBatch omitted = window("", "long-1", 1, base.plusSeconds(10));
        omitted.setContextOmitted(true);
        omitted.setLabels(Map.of());
        send(p, "long-1", WireCodec.encode(omitted), "context-unknown");
        send(p, "labels-1", WireCodec.encode(withLabels(window("labels", "labels-1", 0, base), 200)), "limits");
        // Another collector's id in the value under a foreign key: would have silenced c0's window 3.
        send(p, "evil", WireCodec.encode(WORK.batch("checkout", Map.of("pod", "a"), 3, "c0", 3, base.plusSeconds(30),
                base.plusSeconds(40))), "key-mismatch");
        // Counts summing past Long.MAX_VALUE: saturate, never wrap negative.
        for (int seq = 0; seq < 2; seq++) {
            SampleBatch huge = window("huge", "huge-1", seq, base.plusSeconds(10L * seq));
            huge.setEntries(List.of(new StackCount(WireModel.toWire(WORK.stacks.get(0).id()),
                    Long.MAX_VALUE / 2 + 1, null, null)));
            send(p, "huge-1", WireCodec.encode(huge), null);
        }
        // A bucket with 30,000 distinct stacks: folded to the entry limit, total kept.
        SampleBatch wide = window("wide", "wide-1", 0, base);
        List<StackCount> entries = new ArrayList<>();
        for (int i = 0; i < 30_000; i++) {
            entries.add(new StackCount(new StackId(ByteBuffer.allocate(16).putLong(7).putLong(i + 100L).array()),
                    1L + i % 5, null, null));
        }
        wide.setEntries(entries);
        send(p, "wide-1", WireCodec.encode(wide), null);
        // A stack definition stored under another stack's id: refused at query time.
        Stack forged = new Stack(List.of(Frame.named("forged", FrameKind.USER)), false);
        p.send(new ProducerRecord<>(STACKS, VICTIM.id().toBytes(), WireCodec.encode(WireModel.toDefinition(forged))));
        SampleBatch victim = window("victim", "victim-1", 0, base);
        victim.setEntries(List.of(new StackCount(WireModel.toWire(VICTIM.id()), 42L, null, null)));
        send(p, "victim-1", WireCodec.encode(victim), null);
        // A collector putting a request id in a label: a new series per window.
        for (int seq = 0; seq < MANY_SERIES; seq++) {
            send(p, "many-1", WireCodec.encode(WORK.batch("many", Map.of("req", "r" + seq), 5, "many-1", seq, base,
                    base.plusSeconds(10))), null);
            WORK.addExpected(MANY, 5, seq);
        }
        // A stack definition of 3,000 frames.
        p.send(new ProducerRecord<>(STACKS, DEEP.id().toBytes(), WireCodec.encode(WireModel.toDefinition(DEEP))));
        SampleBatch deep = window("deep", "deep-1", 0, base);
        deep.setEntries(List.of(new StackCount(WireModel.toWire(DEEP.id()), 7L, null, null)));
        send(p, "deep-1", WireCodec.encode(deep), null);
    }

    private static Stack deepStack(int frames) {
        List<Frame> f = new ArrayList<>();
        for (int i = 0; i < frames; i++) {
            f.add(Frame.named("f" + i, FrameKind.USER));
        }
        return new Stack(f, false);
    }

    private static SampleBatch withLabels(SampleBatch b, int n) {
        Map<String, String> labels = new HashMap<>();
        for (int i = 0; i < n; i++) {
            labels.put("k" + i, "v");
        }
        b.setLabels(labels);
        return b;
    }

    /** Mutations of real windows of service "fuzz" (one collector id each, keyed by it). */
    private static void sendFuzz(KafkaProducer<byte[], byte[]> p) {
        SplittableRandom random = new SplittableRandom(1203);
        for (int i = 0; i < FUZZ_RECORDS; i++) {
            String id = "fuzz-" + i;
            byte[] v = WireCodec.encode(WORK.batch("fuzz", Map.of("pod", "f"), 7, id, 0, base, base.plusSeconds(10)));
            int pos = WireCodec.HEADER_BYTES + random.nextInt(v.length - WireCodec.HEADER_BYTES);
            switch (random.nextInt(3)) {
                case 0 -> v[pos] ^= (byte) (1 << random.nextInt(8));
                case 1 -> v[pos] = (byte) random.nextInt(256);
                default -> v = Arrays.copyOf(v, pos);
            }
            try {
                WireCodec.decodeSampleBatch(v);
            } catch (WireFormatException e) {
                fuzzRefusedLocally++;
            }
            p.send(new ProducerRecord<>(SAMPLES, id.getBytes(StandardCharsets.UTF_8), v));
        }
    }

    @AfterAll
    static void stop() {
        if (aggregator != null) {
            aggregator.close();
        }
    }

    private static String collapsed(String service) {
        HttpResponse<String> r = TestKafka.get(aggregator.httpPort(), "/api/v1/profile?service=" + service
                + "&format=collapsed&from=" + enc(base.minusSeconds(60).toString()) + "&to="
                + enc(base.plusSeconds(600).toString()));
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    private static long total(String collapsed) {
        return Workload.parseCollapsed(collapsed).values().stream().mapToLong(Long::longValue).sum();
    }

    @Test
    void theAggregatorStaysRunningAndHonestTotalsStayExact() {
        assertEquals(KafkaStreams.State.RUNNING, aggregator.state());
        assertEquals(HONEST, Workload.parseCollapsed(collapsed("checkout")));
        assertEquals(200, TestKafka.get(aggregator.httpPort(), "/healthz").statusCode());
    }

    @Test
    void everyHostileRecordIsDeadLetteredWithItsReason() {
        int expected = EXPECTED_REASONS.values().stream().mapToInt(Integer::intValue).sum();
        List<ConsumerRecord<byte[], byte[]>> dlq = TestKafka.readAll(kafka.bootstrapServers(), DLQ,
                expected + fuzzRefusedLocally, Duration.ofSeconds(60));
        Map<String, Integer> named = new TreeMap<>();
        int fuzz = 0;
        for (ConsumerRecord<byte[], byte[]> r : dlq) {
            String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
            String reason = new String(r.headers().lastHeader(DeadLetters.REASON_HEADER).value(), StandardCharsets.UTF_8);
            if (key.startsWith("fuzz-")) {
                fuzz++;
            } else {
                named.merge(reason, 1, Integer::sum);
            }
        }
        assertEquals(EXPECTED_REASONS, named);
        // Every mutation the codec refuses is in the DLQ; more may be (admission refuses some that decode).
        assertTrue(fuzz >= fuzzRefusedLocally && fuzzRefusedLocally > 100,
                "fuzz dead letters " + fuzz + ", refused locally " + fuzzRefusedLocally);
    }

    @Test
    void countsSaturateInsteadOfWrapping() {
        Map<String, Long> huge = Workload.parseCollapsed(collapsed("huge"));
        assertEquals(Map.of(WORK.stacks.get(0).collapsed(), Long.MAX_VALUE), huge);
    }

    @Test
    void aBucketOverItsEntryLimitFoldsTheSmallestIntoOther() {
        Map<String, Long> wide = Workload.parseCollapsed(collapsed("wide"));
        long expected = 0;
        for (int i = 0; i < 30_000; i++) {
            expected += 1 + i % 5;
        }
        assertEquals(expected, wide.values().stream().mapToLong(Long::longValue).sum());
        assertTrue(wide.containsKey("[other]"), "folded entries under [other]");
        assertTrue(wide.size() <= 20_000, wide.size() + " stacks");
        assertTrue(registry.find("stackstream.aggregator.bucket.entries.folded").counters().stream()
                .mapToDouble(c -> c.count()).sum() > 0);
    }

    @Test
    void aServicePastItsSeriesLimitCountsTheRestInItsOverflowSeries() throws Exception {
        assertEquals(MANY, Workload.parseCollapsed(collapsed("many")), "the service's totals stay exact");
        String req = TestKafka.get(aggregator.httpPort(), "/api/v1/labels/req/values?service=many").body();
        assertEquals(2_000, new com.fasterxml.jackson.databind.ObjectMapper().readTree(req).get("values").size(),
                "label values kept: one per series within the limit");
        String overflow = TestKafka.get(aggregator.httpPort(), "/api/v1/labels/" + IngestLimits.OVERFLOW_LABEL
                + "/values?service=many").body();
        assertTrue(overflow.contains("\"" + IngestLimits.OVERFLOW_VALUE + "\""), overflow);
        assertEquals(MANY_SERIES - 2_000, registry.counter("stackstream.aggregator.series.folded").count());
    }

    @Test
    void aStackPastTheFrameLimitKeepsItsLeafMostFramesUnderTruncated() {
        Map<String, Long> deep = Workload.parseCollapsed(collapsed("deep"));
        StringBuilder want = new StringBuilder("[truncated]");
        for (int i = 3_000 - (StackDictionary.DEFAULT_MAX_FRAMES - 1); i < 3_000; i++) {
            want.append(';').append('f').append(i);
        }
        assertEquals(Map.of(want.toString(), 7L), deep);
        assertTrue(registry.counter("stackstream.aggregator.stacks.truncated").count() >= 1);
    }

    @Test
    void aDefinitionUnderAnotherStacksIdIsRefused() {
        String text = collapsed("victim");
        assertFalse(text.contains("forged"), text);
        assertEquals(Map.of("[unknown stack " + VICTIM.id().toHex() + "]", 42L), Workload.parseCollapsed(text));
        assertTrue(registry.counter("stackstream.aggregator.stacks.forged").count() >= 1);
    }
}
