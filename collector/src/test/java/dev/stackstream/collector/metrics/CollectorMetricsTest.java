package dev.stackstream.collector.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.collector.sampling.NativeStats;
import dev.stackstream.metrics.ScrapeHandler;
import dev.stackstream.symbols.ModuleKind;
import dev.stackstream.symbols.SymbolizerStats;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CollectorMetricsTest {

    private static NativeStats stats(long samples, long lost, long throttled, long overflow, long threads) {
        return new NativeStats(samples, lost, throttled, overflow, 2, 0, threads, 0, 1, 4096, (int) threads,
                true, false);
    }

    /**
     * Symbolizer counters with the given per-module-kind counts and warnings, every other component
     * zero or empty. Built through the record's canonical constructor so the test keeps compiling
     * while the symbols module adds components.
     */
    static SymbolizerStats symbolizerStats(Map<ModuleKind, SymbolizerStats.Counts> byKind, Map<String, Long> warnings) {
        try {
            java.lang.reflect.RecordComponent[] rc = SymbolizerStats.class.getRecordComponents();
            Class<?>[] types = new Class<?>[rc.length];
            Object[] args = new Object[rc.length];
            for (int i = 0; i < rc.length; i++) {
                types[i] = rc[i].getType();
                String n = rc[i].getName();
                args[i] = n.equals("byModuleKind") ? byKind : n.equals("warnings") ? warnings
                        : types[i] == long.class ? (Object) 0L : types[i] == int.class ? (Object) 0
                        : types[i] == boolean.class ? (Object) false : types[i] == double.class ? (Object) 0.0
                        : Map.class.isAssignableFrom(types[i]) ? Map.of()
                        : java.util.List.class.isAssignableFrom(types[i]) ? java.util.List.of() : null;
            }
            return SymbolizerStats.class.getDeclaredConstructor(types).newInstance(args);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /** A scrape as /metrics serves it. */
    static String scrape(CollectorMetrics metrics) {
        ScrapeHandler.Response r = metrics.scrapeHandler().scrape();
        assertEquals(200, r.status(), r.text());
        return r.text();
    }

    /** The value of one series in an exposition, or NaN when absent. */
    static double value(String exposition, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(exposition);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    @Test
    void countersSumLiveTargetsAndNeverGoBackwardsWhenOneDetaches() {
        try (CollectorMetrics metrics = CollectorMetrics.create()) {
            AtomicReference<NativeStats> a = new AtomicReference<>(stats(100, 3, 1, 0, 2));
            AtomicReference<NativeStats> b = new AtomicReference<>(stats(50, 0, 0, 7, 1));
            SamplingMetrics.Target ta = metrics.sampling().attach("pid 1", a::get);
            SamplingMetrics.Target tb = metrics.sampling().attach("pid 2", b::get);

            String s1 = scrape(metrics);
            assertEquals(150, value(s1, "stackstream_collector_samples_total{outcome=\"taken\"}"));
            assertEquals(3, value(s1, "stackstream_collector_samples_total{outcome=\"lost\"}"));
            assertEquals(1, value(s1, "stackstream_collector_samples_total{outcome=\"throttled\"}"));
            assertEquals(7, value(s1, "stackstream_collector_samples_total{outcome=\"overflow\"}"));
            assertEquals(2, value(s1, "stackstream_collector_targets"));
            assertEquals(3, value(s1, "stackstream_collector_threads"));
            assertEquals(8192, value(s1, "stackstream_collector_stack_table_size_bytes"));

            a.set(stats(180, 3, 1, 0, 2));
            ta.close();
            // A closed session's supplier may throw; the last reading must still count.
            a.set(null);
            String s2 = scrape(metrics);
            assertEquals(230, value(s2, "stackstream_collector_samples_total{outcome=\"taken\"}"));
            assertEquals(1, value(s2, "stackstream_collector_targets"));

            tb.close();
            tb.close(); // idempotent: not counted twice
            String s3 = scrape(metrics);
            assertEquals(230, value(s3, "stackstream_collector_samples_total{outcome=\"taken\"}"));
            assertEquals(2, value(s3, "stackstream_collector_errors_total{cause=\"thread-attach\"}"));
            assertEquals(0, value(s3, "stackstream_collector_targets"));
        }
    }

    @Test
    void symbolizationHitRatesPerModuleKindAndWarningsAsErrors() {
        AtomicReference<SymbolizerStats> sym = new AtomicReference<>(symbolizerStats(
                Map.of(ModuleKind.ELF, new SymbolizerStats.Counts(6, 1), ModuleKind.KERNEL,
                        new SymbolizerStats.Counts(2, 1)), Map.of()));
        try (CollectorMetrics metrics = CollectorMetrics.create(Map.of("service", "checkout"))) {
            metrics.bindSymbolizer(sym::get);
            String s1 = scrape(metrics);
            assertEquals(6, value(s1, "stackstream_collector_symbolization_addresses_total"
                    + "{module_kind=\"elf\",outcome=\"resolved\",service=\"checkout\"}"));
            assertEquals(1, value(s1, "stackstream_collector_symbolization_addresses_total"
                    + "{module_kind=\"kernel\",outcome=\"unresolved\",service=\"checkout\"}"));
            // Kinds that never occurred are present as zero, so dashboards have a series.
            assertEquals(0, value(s1, "stackstream_collector_symbolization_addresses_total"
                    + "{module_kind=\"jit\",outcome=\"resolved\",service=\"checkout\"}"));

            // A second target's symbolizer adds to the first.
            SymbolizationMetrics.Source second = metrics.bindSymbolizer(() -> symbolizerStats(
                    Map.of(ModuleKind.ELF, new SymbolizerStats.Counts(5, 0)), Map.of("elf-corrupt", 1L)));
            sym.set(symbolizerStats(Map.of(ModuleKind.ELF, new SymbolizerStats.Counts(7, 2)),
                    Map.of("elf-corrupt", 4L)));
            String s2 = scrape(metrics);
            assertEquals(12, value(s2, "stackstream_collector_symbolization_addresses_total"
                    + "{module_kind=\"elf\",outcome=\"resolved\",service=\"checkout\"}"));
            assertEquals(5, value(s2, "stackstream_collector_errors_total"
                    + "{cause=\"symbolization-elf-corrupt\",service=\"checkout\"}"));
            // Its target goes away: the counts stay.
            second.close();
            String s3 = scrape(metrics);
            assertEquals(12, value(s3, "stackstream_collector_symbolization_addresses_total"
                    + "{module_kind=\"elf\",outcome=\"resolved\",service=\"checkout\"}"));
            assertEquals(5, value(s3, "stackstream_collector_errors_total"
                    + "{cause=\"symbolization-elf-corrupt\",service=\"checkout\"}"));
        }
    }

    @Test
    void windowsBufferAndPublishLatency() {
        try (CollectorMetrics metrics = CollectorMetrics.create()) {
            PublishingMetrics p = metrics.publishing();
            long[] buffer = {3000, 2};
            p.bindBuffer(buffer, b -> b[0], b -> b[1], 64L << 20);
            p.windowPublished(0, 1200, Duration.ofMillis(15));
            p.windowPublished(1, 800, Duration.ofMillis(40));
            p.deliveryFailed(new org.apache.kafka.common.errors.TimeoutException("broker away"));
            p.windowsDropped(3, 4500);
            p.error("publish");
            p.error("publish");
            String s = scrape(metrics);
            assertEquals(2, value(s, "stackstream_collector_windows_total{outcome=\"published\"}"));
            assertEquals(3, value(s, "stackstream_collector_windows_total{outcome=\"dropped\"}"));
            assertEquals(2000, value(s, "stackstream_collector_published_bytes_total"));
            assertEquals(4500, value(s, "stackstream_collector_buffer_dropped_bytes_total"));
            assertEquals(3000, value(s, "stackstream_collector_buffer_used_bytes"));
            assertEquals(2, value(s, "stackstream_collector_buffer_windows"));
            assertEquals(64L << 20, value(s, "stackstream_collector_buffer_capacity_bytes"));
            assertEquals(3, value(s, "stackstream_collector_errors_total{cause=\"publish\"}"));
            assertEquals(2, value(s, "stackstream_collector_publish_duration_seconds_count"));
            assertEquals(0.055, value(s, "stackstream_collector_publish_duration_seconds_sum"), 1e-9);
            assertTrue(s.contains("stackstream_collector_publish_duration_seconds_bucket{le="),
                    "publish latency must be a histogram for histogram_quantile");
            buffer[0] = 0;
            assertEquals(0, value(scrape(metrics), "stackstream_collector_buffer_used_bytes"));
        }
    }

    @Test
    void rssMatchesTheKernelsAccountingAndCpuIsExported() throws Exception {
        try (CollectorMetrics metrics = CollectorMetrics.create()) {
            String s = scrape(metrics);
            double rss = value(s, "process_memory_rss_bytes");
            long kernel = new ProcessRssMetrics().rssBytes().orElseThrow();
            // Same source read twice a moment apart: within 10% (the JVM allocates in between).
            assertTrue(Math.abs(rss - kernel) < kernel * 0.1, "rss " + rss + " vs /proc " + kernel);
            assertTrue(rss > 10e6, "a JVM has more than 10 MB resident: " + rss);
            assertTrue(s.contains("process_cpu_usage"), "ProcessorMetrics bound");
            assertTrue(s.contains("jvm_memory_used_bytes"), "JvmMemoryMetrics bound");
        }
    }

    @Test
    void rssGaugeSaysUnknownWithoutProcfs(@TempDir Path dir) throws Exception {
        Path status = dir.resolve("status");
        Files.writeString(status, "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n");
        assertEquals(1024 * 1024, new ProcessRssMetrics(status).rssBytes().orElseThrow());
        assertTrue(new ProcessRssMetrics(dir.resolve("missing")).rssBytes().isEmpty());
    }

    @Test
    void exportedNamesPassPromtool() throws Exception {
        try (CollectorMetrics metrics = CollectorMetrics.create(Map.of("service", "svc"))) {
            metrics.sampling().attach("pid 1", () -> stats(10, 1, 1, 1, 1));
            metrics.bindSymbolizer(() -> symbolizerStats(Map.of(), Map.of("maps-unreadable", 1L)));
            metrics.publishing().bindBuffer(new long[1], b -> 0, b -> 0, 1024);
            metrics.publishing().windowPublished(0, 10, Duration.ofMillis(3));
            metrics.publishing().error("publish");
            Promtool.Result r = Promtool.checkMetrics(scrape(metrics));
            assertEquals(0, r.exit(), "promtool check metrics:\n" + r.output());
        }
    }

    @Test
    void aPortInUseIsAClearError() throws Exception {
        try (CollectorMetrics metrics = CollectorMetrics.create();
             MetricsServer first = MetricsServer.start(
                     new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), metrics.scrapeHandler())) {
            java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                    () -> MetricsServer.start(first.address(), metrics.scrapeHandler()));
            assertTrue(e.getMessage().contains("cannot serve metrics on") && e.getMessage().contains("--metrics-port"),
                    e.getMessage());
        }
    }

    @Test
    void serverServesMetricsAndHealthAndRefusesOtherMethods() throws Exception {
        try (CollectorMetrics metrics = CollectorMetrics.create();
             MetricsServer server = MetricsServer.start(
                     new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), metrics.scrapeHandler())) {
            HttpClient http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + server.port();
            HttpResponse<String> m = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, m.statusCode());
            assertEquals(ScrapeHandler.CONTENT_TYPE, m.headers().firstValue("Content-Type").orElse(""));
            assertTrue(m.body().contains("stackstream_collector_samples_total"), m.body());
            assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            assertEquals(404, http.send(HttpRequest.newBuilder(URI.create(base + "/nope")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            assertEquals(405, http.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode());
        }
    }
}
