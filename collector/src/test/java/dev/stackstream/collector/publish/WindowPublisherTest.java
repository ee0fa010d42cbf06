package dev.stackstream.collector.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.collector.consume.KafkaProfileReader;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.Stack;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** Publisher and reader against a real broker (the JVM's shared one). */
class WindowPublisherTest {

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static PublisherConfig config(String bootstrap, String suffix) {
        return PublisherConfig.builder(bootstrap)
                .samplesTopic("samples-" + suffix)
                .stacksTopic("stacks-" + suffix)
                .topicPartitions(3)
                .build();
    }

    static KafkaProfileReader reader(String bootstrap, PublisherConfig c) {
        return new KafkaProfileReader(bootstrap, Map.of(), c.samplesTopic(), c.stacksTopic());
    }

    /** Counts per (collapsed stack, thread), the comparison key of two profiles. */
    static Map<String, Long> counts(Profile p) {
        Map<String, Long> m = new HashMap<>();
        for (Sample s : p.samples()) {
            m.merge(s.stack().id().toHex() + "|" + s.thread(), s.count(), Long::sum);
        }
        return m;
    }

    @Test
    void windowsRoundTripThroughKafkaWithExactCountsAndOneDefinitionPerStack() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        String suffix = unique("rt");
        PublisherConfig c = config(kafka.bootstrapServers(), suffix);
        String collector = unique("collector");
        int last = 9;
        try (WindowPublisher p = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE)) {
            for (int n = 0; n <= last; n++) {
                p.publish(SyntheticWindows.window(n), "checkout", Map.of("pod", "checkout-1"), collector, n);
            }
            assertTrue(p.flush(Duration.ofSeconds(60)), "all windows acknowledged");
            PublisherStats s = p.stats();
            assertEquals(last + 1, s.publishedWindows());
            assertEquals(0, s.droppedWindows());
            assertEquals(last, s.lastDeliveredSequence());
            assertEquals(7, s.sentDefinitions(), "windows use stacks 0..6; each defined once");
        }
        KafkaProfileReader.ReadResult r = reader(kafka.bootstrapServers(), c).read(collector, last, Duration.ofSeconds(60));
        assertTrue(r.complete(), r.describeMissing());
        assertEquals(LongStream.rangeClosed(0, last).boxed().toList(), r.arrivalOrder(), "in order, once each");
        Profile merged = r.profile();
        assertEquals(SyntheticWindows.total(last), merged.totalCount());
        Profile expected = mergeLocally(last);
        assertEquals(counts(expected), counts(merged));
        assertEquals(expected.stats(), merged.stats());
        assertEquals("checkout", merged.labels().get("service"));
        assertEquals("checkout-1", merged.labels().get("pod"));
        assertEquals(SyntheticWindows.T0, merged.start());
        for (Sample s : merged.samples()) {
            Stack original = FunctionLevel.reduce(SyntheticWindows.stack(indexOf(s.stack())));
            assertEquals(original, s.stack(), "frames survive: module, build-id, offset, kind, file:line");
        }
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            ConfigResource stacks = new ConfigResource(ConfigResource.Type.TOPIC, c.stacksTopic());
            ConfigEntry policy = admin.describeConfigs(List.of(stacks)).all().get(30, TimeUnit.SECONDS)
                    .get(stacks).get("cleanup.policy");
            assertEquals("compact", policy.value(), "the stacks topic is compacted");
        }
    }

    @Test
    void aForeignRecordOnTheTopicIsSkippedAndCountedNotFatal() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        String suffix = unique("foreign");
        PublisherConfig c = config(kafka.bootstrapServers(), suffix);
        String collector = unique("collector");
        try (WindowPublisher p = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE)) {
            p.publish(SyntheticWindows.window(0), "svc", Map.of(), collector, 0);
            assertTrue(p.flush(Duration.ofSeconds(60)));
            // Same key, so it lands in the same partition between two real windows.
            Properties props = new Properties();
            props.put("bootstrap.servers", kafka.bootstrapServers());
            try (KafkaProducer<byte[], byte[]> raw =
                         new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                byte[] unknownFingerprint = {(byte) 0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0x41};
                raw.send(new ProducerRecord<>(c.samplesTopic(), collector.getBytes(StandardCharsets.UTF_8),
                        unknownFingerprint)).get(30, TimeUnit.SECONDS);
            }
            p.publish(SyntheticWindows.window(1), "svc", Map.of(), collector, 1);
            assertTrue(p.flush(Duration.ofSeconds(60)));
        }
        KafkaProfileReader.ReadResult r = reader(kafka.bootstrapServers(), c).read(collector, 1, Duration.ofSeconds(60));
        assertTrue(r.complete(), r.describeMissing());
        assertEquals(1, r.undecodable());
        assertEquals(SyntheticWindows.total(1), r.profile().totalCount());
    }

    @Test
    void aBadClientPropertyFailsAtConstructionWithKafkasMessage() {
        PublisherConfig c = PublisherConfig.builder("localhost:1").kafkaProperty("compression.type", "brotli").build();
        var e = org.junit.jupiter.api.Assertions.assertThrows(org.apache.kafka.common.KafkaException.class,
                () -> new WindowPublisher(c, "x", Clock.systemUTC(), PublishListener.NONE).close());
        assertNotNull(e.getMessage());
        assertTrue(e.getMessage().contains("compression.type") || String.valueOf(e.getCause()).contains("brotli"),
                e.toString());
    }

    /**
     * A window whose batch is larger than a record may be is given up (counted), and the windows
     * after it are delivered instead of waiting behind it forever; a definition that is too large
     * is given up while its window's counts still go.
     */
    @Test
    void aWindowThatCanNeverBeDeliveredIsGivenUpAndLaterWindowsGoOn() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        String suffix = unique("large");
        PublisherConfig c = PublisherConfig.builder(kafka.bootstrapServers()).samplesTopic("samples-" + suffix)
                .stacksTopic("stacks-" + suffix).topicPartitions(1).kafkaProperty("max.request.size", "20000")
                .build();
        String collector = unique("collector");
        var wide = Profile.builder(SyntheticWindows.window(0).type())
                .timeRange(SyntheticWindows.T0.plusSeconds(10), SyntheticWindows.T0.plusSeconds(20));
        for (int i = 0; i < 3000; i++) {
            wide.add(new Stack(List.of(Frame.named("f" + i, FrameKind.USER)), false), "worker-" + i, 1);
        }
        var longName = Profile.builder(SyntheticWindows.window(0).type())
                .timeRange(SyntheticWindows.T0.plusSeconds(20), SyntheticWindows.T0.plusSeconds(30));
        longName.add(new Stack(List.of(Frame.named("n".repeat(30_000), FrameKind.USER)), false), null, 5);
        try (WindowPublisher p = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE)) {
            p.publish(SyntheticWindows.window(0), "svc", Map.of(), collector, 0);
            p.publish(wide.build(), "svc", Map.of(), collector, 1);
            p.publish(longName.build(), "svc", Map.of(), collector, 2);
            p.publish(SyntheticWindows.window(3), "svc", Map.of(), collector, 3);
            assertTrue(p.flush(Duration.ofSeconds(60)), "the buffer empties");
            PublisherStats s = p.stats();
            assertEquals(3, s.publishedWindows());
            assertEquals(1, s.undeliverableWindows());
            assertEquals(1, s.undeliverableDefinitions());
            assertEquals(3, s.lastDeliveredSequence());
        }
    }

    static Profile mergeLocally(int last) {
        var b = Profile.builder(SyntheticWindows.window(0).type());
        for (int n = 0; n <= last; n++) {
            b.merge(FunctionLevel.of(SyntheticWindows.window(n)));
        }
        return b.build();
    }

    static int indexOf(Stack s) {
        for (int i = 0; i < 20; i++) {
            if (FunctionLevel.reduce(SyntheticWindows.stack(i)).equals(s)) {
                return i;
            }
        }
        throw new AssertionError("not a synthetic stack: " + s);
    }
}
