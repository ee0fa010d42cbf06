package dev.stackstream.collector.metrics;

import dev.stackstream.metrics.PromtoolConventions;
import dev.stackstream.symbols.SymbolizerStats;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The collector's metrics: one Prometheus registry with the collector's own cost (CPU through
 * Micrometer's {@link ProcessorMetrics}, heap through {@link JvmMemoryMetrics}, RSS through
 * {@link ProcessRssMetrics}), the sampling counters of every attached target
 * ({@link SamplingMetrics}), symbolization hit rates ({@link SymbolizationMetrics}) and the life of
 * windows on their way to Kafka ({@link PublishingMetrics}).
 *
 * <p>Wiring, per attached target: {@code sampling().attach(name, session::stats)} and
 * {@code bindSymbolizer(symbolizer::stats)} (close both handles when the target goes); per
 * collector: {@code publishing()} as the publisher's listener, {@code publishing().bindPublisher(p)},
 * and {@code publishing().windowDrained(window)} for every window.
 *
 * <p>Common tags (e.g. {@code service}, {@code pod}) are applied to every meter. Scrape through
 * {@link MetricsServer} or {@link #scrape()}. One instance per collector process.
 */
public final class CollectorMetrics implements AutoCloseable {
    private final PrometheusMeterRegistry registry;
    private final SamplingMetrics sampling = new SamplingMetrics();
    private final PublishingMetrics publishing;
    private final ProcessRssMetrics rss = new ProcessRssMetrics();
    private final SymbolizationMetrics symbolization = new SymbolizationMetrics();
    private final JvmGcMetrics gc = new JvmGcMetrics();

    private CollectorMetrics(Map<String, String> commonTags) {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags(commonTags.entrySet().stream()
                .map(e -> Tag.of(e.getKey(), e.getValue())).toList());
        PromtoolConventions.apply(registry);
        new ProcessorMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        gc.bindTo(registry);
        rss.bindTo(registry);
        sampling.bindTo(registry);
        symbolization.bindTo(registry);
        publishing = new PublishingMetrics(registry);
    }

    /** A registry without common tags. */
    public static CollectorMetrics create() {
        return create(Map.of());
    }

    /**
     * @param commonTags tags on every meter, e.g. {@code service} and {@code collector}; Prometheus
     *     adds the scrape target's own labels (pod, namespace) on top
     */
    public static CollectorMetrics create(Map<String, String> commonTags) {
        return new CollectorMetrics(Objects.requireNonNull(commonTags, "commonTags"));
    }

    /** Where attached targets are counted. */
    public SamplingMetrics sampling() {
        return sampling;
    }

    /** Where windows, publishing and the buffer are counted. */
    public PublishingMetrics publishing() {
        return publishing;
    }

    /** Where symbolizers are counted (one per attached target). */
    public SymbolizationMetrics symbolization() {
        return symbolization;
    }

    /**
     * Counts a symbolizer's hit rates and warnings, e.g. {@code bindSymbolizer(symbolizer::stats)};
     * close the handle when the symbolizer closes.
     */
    public SymbolizationMetrics.Source bindSymbolizer(Supplier<SymbolizerStats> stats) {
        return symbolization.attach(stats);
    }

    /** The registry, for binding more meters. */
    public MeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition of every meter (format 0.0.4). */
    public String scrape() {
        symbolization.refresh();
        return registry.scrape();
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
