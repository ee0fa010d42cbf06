package dev.stackstream.aggregator;

import dev.stackstream.aggregator.engine.RecordLimits;
import dev.stackstream.aggregator.engine.StoreNames;
import dev.stackstream.aggregator.engine.Tier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads, at start, the largest record each topic the aggregator writes will take: the effective
 * {@code max.message.bytes} of the dead-letter topic and of every tier's changelog (a topic without
 * an override reports the broker's {@code message.max.bytes}), capped by the producer's
 * {@code max.request.size}. A changelog Kafka Streams has not created yet gets what Streams will
 * create it with: {@code topic.max.message.bytes} of the Kafka properties, or the broker's default.
 * When the limits cannot be read (no DescribeConfigs permission, say), {@link RecordLimits#DEFAULTS}
 * apply, with a WARN: the aggregator then works as before and a smaller topic refuses what exceeds it.
 */
final class TopicLimits {
    private static final Logger LOG = LoggerFactory.getLogger(TopicLimits.class);
    private static final long TIMEOUT_SECONDS = 30;

    private TopicLimits() {
    }

    /** The limits of c's topics, {@code streams} being the Kafka Streams properties the aggregator runs with. */
    static RecordLimits read(Admin admin, AggregatorConfig c, Properties streams) {
        int request = intProperty(streams, ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), 1_048_576);
        Map<String, String> changelogs = new LinkedHashMap<>();
        for (Tier t : c.tiers()) {
            String store = StoreNames.tier(t);
            changelogs.put(store, c.applicationId() + "-" + store + "-changelog");
        }
        List<ConfigResource> resources = new ArrayList<>();
        resources.add(new ConfigResource(ConfigResource.Type.TOPIC, c.dlqTopic()));
        resources.add(new ConfigResource(ConfigResource.Type.TOPIC, c.samplesTopic()));
        changelogs.values().forEach(t -> resources.add(new ConfigResource(ConfigResource.Type.TOPIC, t)));
        Map<String, ConfigEntry> found = new HashMap<>();
        try {
            Map<ConfigResource, KafkaFuture<Config>> described = admin.describeConfigs(resources).values();
            for (Map.Entry<ConfigResource, KafkaFuture<Config>> e : described.entrySet()) {
                try {
                    ConfigEntry entry = e.getValue().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                            .get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
                    if (entry != null && entry.value() != null) {
                        found.put(e.getKey().name(), entry);
                    }
                } catch (ExecutionException notThere) {
                    if (!(notThere.getCause() instanceof UnknownTopicOrPartitionException)) {
                        throw notThere;
                    }
                }
            }
            if (!found.containsKey(c.dlqTopic())) {
                throw new IllegalStateException("the dead-letter topic " + c.dlqTopic() + " reports no "
                        + TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            }
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.warn("cannot read max.message.bytes of the dead-letter and changelog topics ({}); assuming the"
                    + " broker's default of {} bytes: a topic configured smaller refuses larger records (see"
                    + " ProductionErrorHandler)", e instanceof ExecutionException ? e.getCause() : e,
                    RecordLimits.BROKER_DEFAULT_BYTES);
            return RecordLimits.DEFAULTS;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return RecordLimits.DEFAULTS;
        }
        int created = createdWith(streams, found);
        int dlq = Math.min(request, parse(found.get(c.dlqTopic())));
        Map<String, Integer> bucket = new LinkedHashMap<>();
        StringBuilder explained = new StringBuilder();
        for (Map.Entry<String, String> e : changelogs.entrySet()) {
            ConfigEntry entry = found.get(e.getValue());
            int limit = Math.min(request, entry == null ? created : parse(entry));
            bucket.put(e.getKey(), limit);
            explained.append(explained.length() == 0 ? "" : ", ").append(e.getValue()).append(' ')
                    .append(entry == null ? "not created yet, will take " + created : parse(entry));
        }
        RecordLimits limits = new RecordLimits(dlq, bucket, Math.min(request, created));
        LOG.info("record limits: dead-letter topic {} takes {} bytes, changelogs: {}; producer max.request.size {};"
                + " derived bounds: {}", c.dlqTopic(), parse(found.get(c.dlqTopic())), explained, request, limits);
        return limits;
    }

    /**
     * What a changelog Streams creates will take: the {@code topic.} override of the Streams
     * properties, else the broker's default, read off a described topic without an override of
     * its own (its effective value is the broker's), else the broker's built-in default.
     */
    private static int createdWith(Properties streams, Map<String, ConfigEntry> found) {
        String override = streams.getProperty(StreamsConfig.topicPrefix(TopicConfig.MAX_MESSAGE_BYTES_CONFIG));
        if (override != null) {
            return Integer.parseInt(override.trim());
        }
        for (ConfigEntry e : found.values()) {
            if (e.source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG) {
                return parse(e);
            }
        }
        return RecordLimits.BROKER_DEFAULT_BYTES;
    }

    private static int parse(ConfigEntry e) {
        return Integer.parseInt(e.value().trim());
    }

    private static int intProperty(Properties p, String key, String prefixed, int otherwise) {
        Object v = p.get(prefixed) != null ? p.get(prefixed) : p.get(key);
        return v == null ? otherwise : Integer.parseInt(v.toString().trim());
    }
}
