package dev.stackstream.aggregator.metrics;

import dev.stackstream.metrics.PromtoolConventions;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Where the aggregator's metrics are exported: one Prometheus registry holding the JVM's own cost
 * (CPU, memory, GC, threads), the engine's meters (the engine's
 * {@code dev.stackstream.aggregator.AggregatorMetrics} registers its records, dead letters, rollup
 * lag ({@link RollupLag}) and query timings in {@link #registry()}) and the Kafka Streams ingest
 * health ({@link StreamsMetrics}: consumer lag, store sizes, state).
 *
 * <p>Every name passes {@code promtool check metrics}: two of Micrometer's processor meters are
 * renamed (see the constructor), and Kafka's own client metrics are not exported wholesale (see
 * {@link StreamsMetrics}). One instance per aggregator process; several Streams instances (tests)
 * may be bound.
 */
public final class AggregatorPrometheus implements AutoCloseable {
    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private final List<StreamsMetrics> streams = new CopyOnWriteArrayList<>();

    private AggregatorPrometheus(Map<String, String> commonTags) {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags(commonTags.entrySet().stream()
                .map(e -> Tag.of(e.getKey(), e.getValue())).toList());
        PromtoolConventions.apply(registry);
        new ProcessorMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        gc.bindTo(registry);
    }

    public static AggregatorPrometheus create() {
        return create(Map.of());
    }

    /** @param commonTags tags on every meter (e.g. {@code instance} when several run in one JVM) */
    public static AggregatorPrometheus create(Map<String, String> commonTags) {
        return new AggregatorPrometheus(Objects.requireNonNull(commonTags, "commonTags"));
    }

    /** Exports the ingest metrics of a Kafka Streams instance (call before or after {@code start()}). */
    public void bindStreams(KafkaStreams kafkaStreams) {
        StreamsMetrics m = new StreamsMetrics(kafkaStreams);
        m.bindTo(registry);
        streams.add(m);
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition of every meter (format 0.0.4). */
    public String scrape() {
        for (StreamsMetrics m : streams) {
            m.refresh();
        }
        return registry.scrape();
    }

    @Override
    public void close() {
        streams.forEach(StreamsMetrics::close);
        gc.close();
        registry.close();
    }
}
