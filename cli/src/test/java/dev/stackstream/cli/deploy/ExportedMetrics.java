package dev.stackstream.cli.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Prometheus names the services export, read from the code: every meter a module's main
 * sources register with Micrometer (the builder's name and base unit, with the Prometheus
 * registry's naming: dots to underscores, the base unit appended unless the name ends with it,
 * {@code _total} for counters, {@code _bucket/_count/_sum/_max} for timers and summaries), plus the
 * Micrometer binders {@code ServiceRegistry} binds (JVM memory, GC, threads, processor, uptime).
 * A dashboard or alert that names anything else charts nothing.
 */
final class ExportedMetrics {
    private static final Pattern METER = Pattern.compile(
            "\\b(Counter|FunctionCounter|Gauge|MultiGauge|TimeGauge|Timer|DistributionSummary)\\.builder\\(\\s*\"([a-z0-9.]+)\"");
    // SamplingMetrics registers its sample counters through a helper: counter(registry, "name", ...).
    private static final Pattern COUNTER_HELPER = Pattern.compile("\\bcounter\\(registry,\\s*\"([a-z0-9.]+)\"");
    private static final Pattern BASE_UNIT = Pattern.compile("\\.baseUnit\\(\\s*(?:\"([a-z]+)\"|BaseUnits\\.([A-Z_]+))\\s*\\)");
    /** What Micrometer's binders bound by ServiceRegistry export (the names dashboards use). */
    private static final List<String> BINDERS = List.of("jvm_memory_used_bytes", "jvm_memory_committed_bytes",
            "jvm_memory_max_bytes", "jvm_gc_pause_seconds_count", "jvm_gc_pause_seconds_sum", "jvm_gc_pause_seconds_max",
            "jvm_threads_live_threads", "jvm_threads_daemon_threads", "jvm_threads_peak_threads",
            "process_uptime_seconds", "process_start_time_seconds", "process_cpu_usage", "system_cpu_usage",
            "system_load_average_1m", "system_cpus");

    private ExportedMetrics() {
    }

    static Set<String> names() throws IOException {
        Set<String> out = new TreeSet<>(BINDERS);
        try (Stream<Path> modules = Files.list(DeployFiles.root())) {
            for (Path main : modules.map(m -> m.resolve("src/main/java")).filter(Files::isDirectory).toList()) {
                try (Stream<Path> files = Files.walk(main)) {
                    for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                        add(Files.readString(f), out);
                    }
                }
            }
        }
        return out;
    }

    private static void add(String source, Set<String> out) {
        Matcher m = METER.matcher(source);
        while (m.find()) {
            int end = source.indexOf(".register(", m.end());
            String chain = source.substring(m.end(), end < 0 ? source.length() : end);
            Matcher u = BASE_UNIT.matcher(chain);
            String unit = u.find() ? (u.group(1) != null ? u.group(1) : u.group(2).toLowerCase()) : null;
            out.addAll(prometheusNames(m.group(1), m.group(2), unit));
        }
        Matcher h = COUNTER_HELPER.matcher(source);
        while (h.find()) {
            out.addAll(prometheusNames("FunctionCounter", h.group(1), null));
        }
    }

    static List<String> prometheusNames(String type, String meter, String unit) {
        String name = meter.replace('.', '_');
        if (type.equals("Timer")) {
            unit = "seconds";
        }
        if (unit != null && !name.endsWith("_" + unit)) {
            name += "_" + unit;
        }
        return switch (type) {
            case "Counter", "FunctionCounter" -> List.of(name.endsWith("_total") ? name : name + "_total");
            case "Timer", "DistributionSummary" -> List.of(name + "_bucket", name + "_count", name + "_sum", name + "_max");
            default -> List.of(name);
        };
    }
}
