package dev.stackstream.collector.consume;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.Stack;
import dev.stackstream.profile.StackId;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.wire.Bindings;
import dev.stackstream.wire.InMemoryBindings;
import dev.stackstream.wire.WindowContext;
import dev.stackstream.wire.WireCodec;
import dev.stackstream.wire.WireFormatException;
import dev.stackstream.wire.WireModel;
import dev.stackstream.wire.WireWindow;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one collector run's windows back from Kafka into a {@link Profile}: every
 * {@code SampleBatch} keyed by the collector id on the samples topic, joined with the stack
 * definitions of the stacks topic. This is the consumer half of {@code record}
 * (sampler -> publisher -> broker -> this reader -> renderers) and of the wire tests.
 *
 * <p>It reads without a consumer group (assigned partitions from the beginning), so it changes
 * nothing on the cluster. A window delivered twice is counted once (by sequence); records that
 * cannot be decoded are counted and logged, never fatal.
 */
public final class KafkaProfileReader {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaProfileReader.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private final Map<String, Object> consumerProperties;
    private final boolean customPartitioner;
    private final String samplesTopic;
    private final String stacksTopic;

    /**
     * @param bootstrapServers Kafka bootstrap servers
     * @param kafkaProperties extra client properties (TLS, SASL...)
     */
    public KafkaProfileReader(String bootstrapServers, Map<String, String> kafkaProperties, String samplesTopic,
                              String stacksTopic) {
        Map<String, Object> p = new HashMap<>(kafkaProperties);
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        this.consumerProperties = p;
        this.customPartitioner = kafkaProperties.containsKey(ProducerConfig.PARTITIONER_CLASS_CONFIG);
        this.samplesTopic = samplesTopic;
        this.stacksTopic = stacksTopic;
    }

    /**
     * Reads windows 0..{@code expectedLastSequence} of {@code collectorId} from the default topics.
     *
     * @throws TimeoutException when not every window (or not every definition) arrived in time;
     *     the message lists what is missing
     */
    public static Profile read(String bootstrapServers, String collectorId, long expectedLastSequence,
                               Duration timeout) throws TimeoutException {
        ReadResult r = new KafkaProfileReader(bootstrapServers, Map.of(), "stackstream-samples",
                "stackstream-stacks").read(collectorId, expectedLastSequence, timeout);
        if (!r.complete()) {
            throw new TimeoutException("after " + timeout.toSeconds() + " s: " + r.describeMissing());
        }
        return r.profile();
    }

    /**
     * Reads windows 0..{@code expectedLastSequence} of {@code collectorId}, waiting up to
     * {@code timeout} for them and for their stack definitions. Returns what arrived either way.
     */
    public ReadResult read(String collectorId, long expectedLastSequence, Duration timeout) {
        return read(collectorId, expectedLastSequence, false, timeout);
    }

    /**
     * Reads every window of {@code collectorId} that is on the samples topic now (up to the end
     * offsets seen at the call), for a collector whose last sequence is not known (the sidecar).
     * Complete when the sequences found run from 0 without a gap.
     */
    public ReadResult readAll(String collectorId, Duration timeout) {
        return read(collectorId, -1, true, timeout);
    }

    private ReadResult read(String collectorId, long expectedLastSequence, boolean toEnd, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] key = collectorId.getBytes(StandardCharsets.UTF_8);
        TreeMap<Long, WireWindow> windows = new TreeMap<>();
        List<Long> arrival = new ArrayList<>();
        int duplicates = 0;
        int undecodable = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties)) {
            List<TopicPartition> partitions = partitionsOf(key, waitForPartitions(consumer, samplesTopic, deadline));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = toEnd ? consumer.endOffsets(partitions, Duration.ofSeconds(30)) : Map.of();
            while (System.nanoTime() < deadline
                    && (toEnd ? !reached(consumer, end) : !allArrived(windows, expectedLastSequence))) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                    if (r.key() == null || !java.util.Arrays.equals(r.key(), key)) {
                        continue;
                    }
                    try {
                        WireWindow b = WireWindow.decode(r.value());
                        arrival.add(b.sequence());
                        if (windows.putIfAbsent(b.sequence(), b) != null) {
                            duplicates++;
                        }
                    } catch (WireFormatException e) {
                        undecodable++;
                        LOG.warn("skipping undecodable record {}-{}@{}: {}", r.topic(), r.partition(), r.offset(),
                                e.getMessage());
                    }
                }
            }
        }
        // v2 batches name stacks by per-run index: bindings are applied in sequence order, first to
        // learn which definitions to fetch, then again (fresh) while adding the counts.
        Set<StackId> needed = new HashSet<>();
        Bindings scan = new InMemoryBindings();
        for (WireWindow b : windows.values()) {
            b.restoreContext(scan);
            b.forEachEntry(scan, (id, thread, count, instructions) -> needed.add(id));
        }
        boolean unbound = needed.remove(WireModel.UNBOUND_STACK);
        Map<StackId, Stack> dictionary = readDefinitions(needed, deadline);
        // Type and labels from the first window whose context is known (the scan above filled it
        // into the windows that left it out, wherever an earlier window of the run carried it).
        WireWindow described = windows.values().stream().filter(WireWindow::contextKnown).findFirst().orElse(null);
        ProfileBuilder builder = null;
        if (described != null) {
            WindowContext c = described.context();
            builder = Profile.builder(new ProfileType(c.typeName(), c.typeUnit(), c.typePeriod()))
                    .labels(c.labels()).label(WireModel.SERVICE_LABEL, c.service());
            Bindings index = new InMemoryBindings();
            for (WireWindow b : windows.values()) {
                b.addTo(builder, index, dictionary::get);
            }
        } else if (!windows.isEmpty()) {
            LOG.warn("none of the {} windows of {} read carries its service, labels and profile type (the"
                    + " run's earlier windows are gone?): not counted", windows.size(), collectorId);
        }
        Profile profile = builder == null ? null : builder.build();
        List<Long> missing = new ArrayList<>();
        long last = toEnd ? (windows.isEmpty() ? -1 : windows.lastKey()) : expectedLastSequence;
        for (long s = 0; s <= last; s++) {
            if (!windows.containsKey(s)) {
                missing.add(s);
            }
        }
        Set<StackId> undefined = new HashSet<>(needed);
        undefined.removeAll(dictionary.keySet());
        if (unbound) {
            LOG.warn("windows of {} use stack indexes that no earlier window bound (a window missing at the"
                    + " start?); their samples appear as an unknown stack", collectorId);
        }
        return new ReadResult(profile, List.copyOf(arrival), List.copyOf(missing), duplicates, undecodable,
                undefined.size() + (unbound ? 1 : 0));
    }

    /**
     * The partitions that can hold a collector's windows. The publisher keys them by collector id,
     * and Kafka's default partitioner sends a key to murmur2(key) mod partitions, so one partition
     * holds them all: reading only it keeps record cheap on a shared topic with long retention.
     * With a custom partitioner (partitioner.class set) every partition is read.
     */
    List<TopicPartition> partitionsOf(byte[] key, List<TopicPartition> all) {
        if (customPartitioner || all.size() <= 1) {
            return all;
        }
        int p = Utils.toPositive(Utils.murmur2(key)) % all.size();
        return all.stream().filter(tp -> tp.partition() == p).toList();
    }

    private static boolean reached(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private static boolean allArrived(TreeMap<Long, WireWindow> windows, long last) {
        // Sequences start at 0 without gaps: all arrived when the map holds exactly 0..last.
        return windows.size() >= last + 1 && windows.containsKey(0L) && windows.containsKey(last)
                && windows.headMap(last, true).size() == last + 1;
    }

    private Map<StackId, Stack> readDefinitions(Set<StackId> needed, long deadline) {
        Map<StackId, Stack> dictionary = new HashMap<>();
        if (needed.isEmpty()) {
            return dictionary;
        }
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties)) {
            List<TopicPartition> partitions = waitForPartitions(consumer, stacksTopic, deadline);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (!dictionary.keySet().containsAll(needed) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                    try {
                        Stack stack = WireCodec.decodeStack(r.value());
                        if (needed.contains(stack.id())) {
                            dictionary.put(stack.id(), stack);
                        }
                    } catch (WireFormatException e) {
                        LOG.warn("skipping undecodable stack definition {}-{}@{}: {}", r.topic(), r.partition(),
                                r.offset(), e.getMessage());
                    }
                }
            }
        }
        return dictionary;
    }

    private static List<TopicPartition> waitForPartitions(KafkaConsumer<byte[], byte[]> consumer, String topic,
                                                          long deadline) {
        while (true) {
            List<PartitionInfo> infos;
            try {
                infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                infos = List.of();
            }
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            }
            if (System.nanoTime() >= deadline) {
                return List.of();
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return List.of();
            }
        }
    }

    /**
     * What a read found.
     *
     * @param profile all windows merged, or null when none arrived
     * @param arrivalOrder sequences in the order the records were read (duplicates included)
     * @param missingSequences expected sequences that did not arrive
     * @param duplicates windows read more than once (counted once)
     * @param undecodable records with the collector's key that could not be decoded
     * @param undefinedStacks stacks used by the windows whose definition was not found (they appear
     *     as unknown stacks in the profile)
     */
    public record ReadResult(Profile profile, List<Long> arrivalOrder, List<Long> missingSequences, int duplicates,
                             int undecodable, int undefinedStacks) {

        public boolean complete() {
            return profile != null && missingSequences.isEmpty() && undefinedStacks == 0;
        }

        public String describeMissing() {
            return missingSequences.size() + " window(s) missing " + abbreviate(missingSequences) + ", "
                    + undefinedStacks + " stack definition(s) missing";
        }

        private static String abbreviate(List<Long> l) {
            return l.size() <= 10 ? l.toString() : l.subList(0, 10) + "...";
        }
    }
}
