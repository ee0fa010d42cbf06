package dev.stackstream.metrics;

import com.sun.management.OperatingSystemMXBean;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.config.MeterFilter;
import java.lang.management.ManagementFactory;

/**
 * Fixes the two meters of Micrometer's {@code ProcessorMetrics} that {@code promtool check metrics}
 * rejects, so a whole scrape passes the linter: {@code process.cpu.time} (exported as
 * {@code process_cpu_time_ns_total}, an abbreviated unit) is replaced by Prometheus's standard
 * {@code process_cpu_seconds_total}, and {@code system.cpu.count} (a gauge ending in
 * {@code _count}) is renamed {@code system.cpus}. Apply before binding ProcessorMetrics. Both
 * services (collector and aggregator) apply it to their Prometheus registries.
 */
public final class PromtoolConventions {
    private PromtoolConventions() {
    }

    /** Installs the filters and the replacement CPU-time counter on {@code registry}. */
    public static void apply(MeterRegistry registry) {
        registry.config().meterFilter(MeterFilter.denyNameStartsWith("process.cpu.time"));
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                return id.getName().equals("system.cpu.count") ? id.withName("system.cpus") : id;
            }
        });
        if (ManagementFactory.getOperatingSystemMXBean() instanceof OperatingSystemMXBean os) {
            FunctionCounter.builder("process.cpu", os, o -> o.getProcessCpuTime() / 1e9)
                    .description("CPU time used by the process (user + system)")
                    .baseUnit("seconds")
                    .register(registry);
        }
    }
}
