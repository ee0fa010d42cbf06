package dev.stackstream.collector.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.collector.consume.KafkaProfileReader;
import dev.stackstream.profile.Profile;
import dev.stackstream.wire.IndexedStackCount;
import dev.stackstream.wire.PackedEntries;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.StackIndexDefinition;
import dev.stackstream.wire.WireCodec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/** The v2 compact wire format against a real broker: bound once, readable, safe under drops; v1 still available. */
class CompactWireTest {

    /** Every SampleBatch of the collector on the samples topic, in partition order. */
    static List<SampleBatch> rawBatches(String bootstrap, PublisherConfig c, String collector) throws Exception {
        List<SampleBatch> out = new ArrayList<>();
        Map<String, Object> props = Map.of("bootstrap.servers", bootstrap, "auto.offset.reset", "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer =
                     new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(c.samplesTopic()).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (collector.equals(new String(r.key(), java.nio.charset.StandardCharsets.UTF_8))) {
                        out.add(WireCodec.decodeSampleBatch(r.value()));
                    }
                }
            }
        }
        return out;
    }

    @Test
    void eachStackIndexIsBoundOnceAndEveryEntryResolves() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        PublisherConfig c = WindowPublisherTest.config(kafka.bootstrapServers(), WindowPublisherTest.unique("v2"));
        String collector = WindowPublisherTest.unique("collector");
        int last = 9;
        try (WindowPublisher p = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE)) {
            for (int n = 0; n <= last; n++) {
                p.publish(SyntheticWindows.window(n), "checkout", Map.of("pod", "p"), collector, n);
                assertTrue(p.flush(Duration.ofSeconds(60)), "window " + n + " acknowledged");
            }
        }
        List<SampleBatch> batches = rawBatches(kafka.bootstrapServers(), c, collector);
        assertEquals(last + 1, batches.size());
        Map<Integer, Integer> bindings = new HashMap<>();
        Set<Integer> bound = new java.util.HashSet<>();
        for (SampleBatch b : batches) {
            assertTrue(b.getEntries().isEmpty(), "v2 default: no 16-byte ids per entry");
            for (StackIndexDefinition d : b.getNewStacks()) {
                bindings.merge(d.getIndex(), 1, Integer::sum);
                bound.add(d.getIndex());
            }
            for (IndexedStackCount e : PackedEntries.of(b)) {
                assertTrue(bound.contains(e.getStackIndex()), "index " + e.getStackIndex() + " of window "
                        + b.getSequence() + " bound in it or before");
            }
        }
        assertEquals(7, bindings.size(), "stacks 0..6");
        assertTrue(bindings.values().stream().allMatch(n -> n == 1), "each bound exactly once: " + bindings);
        assertEquals(1, batches.stream().mapToInt(b -> b.getNewThreads().size()).sum(), "one thread name, once");

        KafkaProfileReader.ReadResult r = WindowPublisherTest.reader(kafka.bootstrapServers(), c)
                .read(collector, last, Duration.ofSeconds(60));
        assertTrue(r.complete(), r.describeMissing());
        assertEquals(WindowPublisherTest.counts(WindowPublisherTest.mergeLocally(last)),
                WindowPublisherTest.counts(r.profile()));
    }

    @Test
    void theV1FormatStillWritesStackIdsPerEntryForOldReaders() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        String suffix = WindowPublisherTest.unique("v1");
        PublisherConfig c = PublisherConfig.builder(kafka.bootstrapServers()).samplesTopic("samples-" + suffix)
                .stacksTopic("stacks-" + suffix).topicPartitions(3).wireFormat(PublisherConfig.WireFormat.V1).build();
        String collector = WindowPublisherTest.unique("collector");
        int last = 4;
        try (WindowPublisher p = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE)) {
            for (int n = 0; n <= last; n++) {
                p.publish(SyntheticWindows.window(n), "checkout", Map.of(), collector, n);
            }
            assertTrue(p.flush(Duration.ofSeconds(60)));
        }
        for (SampleBatch b : rawBatches(kafka.bootstrapServers(), c, collector)) {
            assertFalse(b.getEntries().isEmpty());
            assertTrue(PackedEntries.of(b).isEmpty() && b.getNewStacks().isEmpty() && b.getNewThreads().isEmpty());
        }
        KafkaProfileReader.ReadResult r = WindowPublisherTest.reader(kafka.bootstrapServers(), c)
                .read(collector, last, Duration.ofSeconds(60));
        assertTrue(r.complete(), r.describeMissing());
        assertEquals(SyntheticWindows.total(last), r.profile().totalCount());
    }

    @Test
    void windowsDroppedDuringAnOutageLeaveNoIndexUnbound() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().mode(EmbeddedKafka.Mode.IN_JVM).start()) {
            String suffix = WindowPublisherTest.unique("drop");
            PublisherConfig c = PublisherConfig.builder(kafka.bootstrapServers()).samplesTopic("samples-" + suffix)
                    .stacksTopic("stacks-" + suffix).topicPartitions(1).bufferBytes(2048).build();
            String collector = WindowPublisherTest.unique("collector");
            int last = 14;
            long dropped;
            try (WindowPublisher p = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE)) {
                // Window 0 (stacks 0..2) is delivered; windows 1..4 then bind stacks 3..6 while the
                // broker is away and most of them are dropped; later windows use stacks 3..6 again.
                p.publish(SyntheticWindows.window(0), "svc", Map.of(), collector, 0);
                assertTrue(p.flush(Duration.ofSeconds(60)));
                kafka.stop();
                for (int n = 1; n <= last; n++) {
                    p.publish(SyntheticWindows.window(n), "svc", Map.of(), collector, n);
                }
                dropped = p.stats().droppedWindows();
                kafka.restart();
                assertTrue(p.flush(Duration.ofSeconds(90)), "the rest delivered: " + p.stats());
            }
            assertTrue(dropped >= 5, "the small buffer dropped windows: " + dropped);
            KafkaProfileReader.ReadResult r = WindowPublisherTest.reader(kafka.bootstrapServers(), c)
                    .readAll(collector, Duration.ofSeconds(60));
            assertEquals(0, r.undefinedStacks(), "every index and every stack resolved");
            assertFalse(r.missingSequences().isEmpty());
            var expected = Profile.builder(SyntheticWindows.window(0).type());
            for (long s : r.arrivalOrder().stream().distinct().toList()) {
                expected.merge(FunctionLevel.of(SyntheticWindows.window((int) s)));
            }
            assertEquals(WindowPublisherTest.counts(expected.build()), WindowPublisherTest.counts(r.profile()),
                    "exact counts for the delivered windows, on the right stacks");
            // Some delivered window used a stack first bound in a window that was dropped.
            List<SampleBatch> batches = rawBatches(kafka.bootstrapServers(), c, collector);
            assertTrue(batches.stream().anyMatch(b -> b.getSequence() > 4
                    && b.getNewStacks().stream().anyMatch(d -> d.getIndex() >= 3)),
                    "bindings of dropped windows travelled in a later one");
        }
    }
}
