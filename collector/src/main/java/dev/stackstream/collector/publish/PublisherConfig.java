package dev.stackstream.collector.publish;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Where and how windows are published. Immutable; build with {@link #builder(String)}.
 *
 * <p>Kafka client properties pass through untouched (TLS, SASL, timeouts: Kafka's own names), after
 * the publisher's defaults and before the settings it cannot work without (byte-array serializers,
 * idempotence, acks=all). See {@link KafkaClients#producerProperties}.
 *
 * @param bootstrapServers Kafka bootstrap servers, {@code host:port[,host:port]}
 * @param kafkaProperties extra client properties (producer and admin)
 * @param samplesTopic topic of {@code SampleBatch} records, key = collector id
 * @param stacksTopic compacted topic of {@code StackDefinition} records, key = 16-byte stack id
 * @param bufferBytes bound of the windows held while the broker is away (encoded bytes)
 * @param definitionRefresh a stack's definition is sent again when it is used this long after it
 *     was last sent, so compaction or retention never leaves a live stack undefined
 * @param createTopics create the topics when absent (needs CREATE on the cluster; off when an
 *     operator manages topics)
 * @param topicPartitions partitions of topics this publisher creates
 * @param keepResolvedOffsets publish the instruction offset of frames symbolization named (off by
 *     default: windows go on the wire at function granularity, see FunctionLevel)
 * @param wireFormat how counts are encoded: {@link WireFormat#V2} (default, per-collector indexes)
 *     or {@link WireFormat#V1} (16-byte stack ids per entry, for aggregators released before v2)
 */
public record PublisherConfig(String bootstrapServers, Map<String, String> kafkaProperties, String samplesTopic,
                              String stacksTopic, long bufferBytes, Duration definitionRefresh,
                              boolean createTopics, int topicPartitions, boolean keepResolvedOffsets,
                              WireFormat wireFormat) {

    /** The encoding of a window's counts; both are valid SampleBatch v2 records. */
    public enum WireFormat {
        /** {@code entries}: every entry names its stack by 16-byte id and its thread by name (readable by v1 readers). */
        V1,
        /** {@code packedEntries} with per-collector stack and thread indexes bound once ({@code newStacks}, {@code newThreads}). */
        V2
    }

    public static final String DEFAULT_SAMPLES_TOPIC = "stackstream-samples";
    public static final String DEFAULT_STACKS_TOPIC = "stackstream-stacks";
    public static final long DEFAULT_BUFFER_BYTES = 8L * 1024 * 1024;
    public static final Duration DEFAULT_DEFINITION_REFRESH = Duration.ofHours(6);

    public PublisherConfig {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        kafkaProperties = Map.copyOf(kafkaProperties);
        Objects.requireNonNull(samplesTopic, "samplesTopic");
        Objects.requireNonNull(stacksTopic, "stacksTopic");
        Objects.requireNonNull(definitionRefresh, "definitionRefresh");
        Objects.requireNonNull(wireFormat, "wireFormat");
        if (bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("bootstrap servers must not be empty");
        }
        if (bufferBytes < 1024) {
            throw new IllegalArgumentException("buffer must hold at least 1024 bytes, got " + bufferBytes);
        }
        if (topicPartitions < 1) {
            throw new IllegalArgumentException("topic partitions must be >= 1, got " + topicPartitions);
        }
        if (samplesTopic.equals(stacksTopic)) {
            throw new IllegalArgumentException("samples and stacks need two topics, both are '" + samplesTopic + "'");
        }
    }

    public static Builder builder(String bootstrapServers) {
        return new Builder(bootstrapServers);
    }

    /** Builder with the defaults above. */
    public static final class Builder {
        private final String bootstrapServers;
        private final Map<String, String> kafkaProperties = new LinkedHashMap<>();
        private String samplesTopic = DEFAULT_SAMPLES_TOPIC;
        private String stacksTopic = DEFAULT_STACKS_TOPIC;
        private long bufferBytes = DEFAULT_BUFFER_BYTES;
        private Duration definitionRefresh = DEFAULT_DEFINITION_REFRESH;
        private boolean createTopics = true;
        private int topicPartitions = 6;
        private boolean keepResolvedOffsets;
        private WireFormat wireFormat = WireFormat.V2;

        private Builder(String bootstrapServers) {
            this.bootstrapServers = bootstrapServers;
        }

        public Builder kafkaProperty(String name, String value) {
            kafkaProperties.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return this;
        }

        public Builder kafkaProperties(Map<String, String> all) {
            all.forEach(this::kafkaProperty);
            return this;
        }

        public Builder samplesTopic(String topic) {
            this.samplesTopic = topic;
            return this;
        }

        public Builder stacksTopic(String topic) {
            this.stacksTopic = topic;
            return this;
        }

        public Builder bufferBytes(long bytes) {
            this.bufferBytes = bytes;
            return this;
        }

        public Builder definitionRefresh(Duration refresh) {
            this.definitionRefresh = refresh;
            return this;
        }

        public Builder createTopics(boolean create) {
            this.createTopics = create;
            return this;
        }

        public Builder topicPartitions(int partitions) {
            this.topicPartitions = partitions;
            return this;
        }

        public Builder keepResolvedOffsets(boolean keep) {
            this.keepResolvedOffsets = keep;
            return this;
        }

        public Builder wireFormat(WireFormat format) {
            this.wireFormat = format;
            return this;
        }

        public PublisherConfig build() {
            return new PublisherConfig(bootstrapServers, kafkaProperties, samplesTopic, stacksTopic, bufferBytes,
                    definitionRefresh, createTopics, topicPartitions, keepResolvedOffsets, wireFormat);
        }
    }
}
