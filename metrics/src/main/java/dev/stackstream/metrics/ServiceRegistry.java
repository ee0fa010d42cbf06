package dev.stackstream.metrics;

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

/**
 * The one way a stackstream service builds the Prometheus registry it exports: common tags first
 * (so every meter carries them), {@link PromtoolConventions} (so the scrape passes
 * {@code promtool check metrics}), then the process's own cost: CPU, JVM memory, GC, threads,
 * uptime. The service then binds its own meters to {@link #registry()} and serves it through a
 * {@link ScrapeHandler}. One per process; {@link #close()} releases the GC listeners.
 */
public final class ServiceRegistry implements AutoCloseable {
    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gc = new JvmGcMetrics();

    private ServiceRegistry(Map<String, String> commonTags) {
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

    /** A registry without common tags. */
    public static ServiceRegistry create() {
        return create(Map.of());
    }

    /** @param commonTags tags on every meter (e.g. {@code service}, or {@code instance} when several run in one JVM) */
    public static ServiceRegistry create(Map<String, String> commonTags) {
        return new ServiceRegistry(Objects.requireNonNull(commonTags, "commonTags"));
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
