package dev.stackstream.aggregator.engine;

import dev.stackstream.aggregator.AggregatorMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * Builds the Kafka Streams topology:
 *
 * <pre>
 *  stackstream-stacks (compacted) ──► global store stack-dictionary (every instance, raw bytes)
 *
 *  stackstream-samples ──► ingest ──(undecodable)──► stackstream-dlq
 *   key collectorId         │ stores (per partition, changelogged, cached):
 *                           │   collector-sequences  collectorId → seen sequences (dedup)
 *                           │   collector-index      (collectorId, index) → stack id / thread, collectorId → context
 *                           │   series               series id → service, labels, type
 *                           │   counts-10s / -1m / -1h   window stores: series id @ bucket → StackCounts
 *                           │   rollup-state         pending coarse buckets + rollup watermarks
 * </pre>
 */
public final class AggregatorTopology {

    private AggregatorTopology() {
    }

    /** The topology for the given topics and tiers, with the default {@link IngestLimits}. */
    public static Topology build(String samplesTopic, String stacksTopic, String dlqTopic, List<Tier> tiers,
                                 Duration rollupGrace, Duration rollupInterval, Duration dedupRetention,
                                 Clock clock, AggregatorMetrics metrics) {
        return build(samplesTopic, stacksTopic, dlqTopic, tiers, rollupGrace, rollupInterval, dedupRetention,
                IngestLimits.DEFAULTS, clock, metrics);
    }

    /** The topology for the given topics, tiers and ingest limits, with the service merge only. */
    public static Topology build(String samplesTopic, String stacksTopic, String dlqTopic, List<Tier> tiers,
                                 Duration rollupGrace, Duration rollupInterval, Duration dedupRetention,
                                 IngestLimits limits, Clock clock, AggregatorMetrics metrics) {
        return build(samplesTopic, stacksTopic, dlqTopic, tiers, rollupGrace, rollupInterval, dedupRetention,
                limits, MergedSeries.serviceOnly(), clock, metrics);
    }

    /** The topology for the given topics, tiers, ingest limits and merged series. */
    public static Topology build(String samplesTopic, String stacksTopic, String dlqTopic, List<Tier> tiers,
                                 Duration rollupGrace, Duration rollupInterval, Duration dedupRetention,
                                 IngestLimits limits, MergedSeries merges, Clock clock, AggregatorMetrics metrics) {
        Tier.validate(tiers);
        StreamsBuilder builder = new StreamsBuilder();
        builder.globalTable(stacksTopic, Consumed.with(Serdes.Bytes(), Serdes.ByteArray()),
                Materialized.<Bytes, byte[], KeyValueStore<Bytes, byte[]>>as(StoreNames.STACKS)
                        .withKeySerde(Serdes.Bytes()).withValueSerde(Serdes.ByteArray()));

        List<String> stores = new ArrayList<>();
        for (String name : List.of(StoreNames.SEQUENCES, StoreNames.SERIES, StoreNames.ROLLUP,
                StoreNames.COLLECTOR_INDEX)) {
            builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name),
                    Serdes.Bytes(), Serdes.ByteArray()).withCachingEnabled());
            stores.add(name);
        }
        for (Tier t : tiers) {
            String name = StoreNames.tier(t);
            builder.addStateStore(Stores.windowStoreBuilder(
                    Stores.persistentWindowStore(name, t.retention(), t.size(), false),
                    Serdes.Bytes(), Serdes.ByteArray()).withCachingEnabled());
            stores.add(name);
        }
        builder.stream(samplesTopic, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("samples"))
                .process(() -> new IngestProcessor(tiers, rollupGrace, rollupInterval, dedupRetention, limits,
                                merges, clock, metrics),
                        org.apache.kafka.streams.kstream.Named.as("ingest"), stores.toArray(String[]::new))
                .to(dlqTopic, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("dead-letters"));
        return builder.build();
    }
}
