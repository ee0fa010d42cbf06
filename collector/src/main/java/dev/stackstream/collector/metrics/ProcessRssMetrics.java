package dev.stackstream.collector.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Resident set size of this process, read from {@code /proc/self/status} at every scrape.
 *
 * <p>Micrometer's JVM binders report heap and non-heap pools, which miss what the collector
 * actually costs a node: thread stacks, JNA and native-library memory, the kernel's perf ring
 * buffers mapped into the process and malloc arenas. The kernel's own accounting (VmRSS, VmHWM)
 * is the number a memory limit is enforced against, so it is the one to watch.
 *
 * <p>Meters: {@code process.memory.rss} and {@code process.memory.rss.peak} (bytes). On a system
 * without procfs the gauges read NaN rather than a made-up zero.
 */
public final class ProcessRssMetrics implements MeterBinder {
    private final Path status;

    /** Reads {@code /proc/self/status}. */
    public ProcessRssMetrics() {
        this(Path.of("/proc/self/status"));
    }

    /** Reads the given status file (tests point it at another process's or a fixture). */
    public ProcessRssMetrics(Path status) {
        this.status = status;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("process.memory.rss", this, m -> m.kib("VmRSS:"))
                .description("Resident set size of the process (VmRSS)")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
        Gauge.builder("process.memory.rss.peak", this, m -> m.kib("VmHWM:"))
                .description("Peak resident set size of the process (VmHWM)")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
    }

    /** Current RSS in bytes, if procfs tells. */
    public OptionalLong rssBytes() {
        double v = kib("VmRSS:");
        return Double.isNaN(v) ? OptionalLong.empty() : OptionalLong.of((long) v);
    }

    private double kib(String field) {
        try {
            for (String line : Files.readAllLines(status, StandardCharsets.US_ASCII)) {
                if (line.startsWith(field)) {
                    // "VmRSS:\t   12345 kB"
                    String[] parts = line.substring(field.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // No procfs (or a format we do not know): say "unknown", not zero.
        }
        return Double.NaN;
    }
}
