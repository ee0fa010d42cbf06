package dev.stackstream.collector.metrics;

import dev.stackstream.metrics.ScrapeHandler;
import dev.stackstream.metrics.ServiceRegistry;
import dev.stackstream.symbols.SymbolizerStats;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The collector's metrics: one Prometheus registry (built by the shared {@link ServiceRegistry}:
 * CPU, JVM memory, GC, threads) with the collector's own RSS ({@link ProcessRssMetrics}), the sampling counters of every attached target
 * ({@link SamplingMetrics}), symbolization hit rates ({@link SymbolizationMetrics}) and the life of
 * windows on their way to Kafka ({@link PublishingMetrics}).
 *
 * <p>Wiring, per attached target: {@code sampling().attach(name, session::stats)} and
 * {@code bindSymbolizer(symbolizer::stats)} (close both handles when the target goes); per
 * collector: {@code publishing()} as the publisher's listener, {@code publishing().bindPublisher(p)},
 * and {@code publishing().windowDrained(window)} for every window.
 *
 * <p>Common tags (e.g. {@code service}, {@code pod}) are applied to every meter. Scrape through
 * {@link MetricsServer} with {@link #scrapeHandler()}. One instance per collector process.
 */
public final class CollectorMetrics implements AutoCloseable {
    private final ServiceRegistry service;
    private final MeterRegistry registry;
    private final SamplingMetrics sampling = new SamplingMetrics();
    private final PublishingMetrics publishing;
    private final ProcessRssMetrics rss = new ProcessRssMetrics();
    private final SymbolizationMetrics symbolization = new SymbolizationMetrics();
    private CollectorMetrics(Map<String, String> commonTags) {
        service = ServiceRegistry.create(commonTags);
        registry = service.registry();
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

    /** What {@code /metrics} serves: the exposition, with symbolization causes seen since the last scrape registered. */
    public ScrapeHandler scrapeHandler() {
        return ScrapeHandler.of(registry, symbolization::refresh);
    }

    @Override
    public void close() {
        service.close();
    }
}
