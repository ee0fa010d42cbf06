package dev.stackstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The whole thing, live: {@code stackstream demo} (embedded broker, aggregator, collector sampling
 * the calltree fixture) scraped by a real Prometheus (Debian's /usr/bin/prometheus on a loopback
 * port, 1 s scrape interval, configured from deploy/prometheus/prometheus-local.yml); every query
 * of the Grafana dashboard must return data through Prometheus's HTTP API while the pipeline runs.
 * The function metrics show calltree's 70/30 split too. Then the demo's own results: exit status,
 * summary, files, and calltree's 70/30 split.
 */
class DemoAndDashboardLiveTest {
    private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** calltree's functions as the aggregator's function metrics see them (total share, 5 min window). */
    private static final String FUNCTION_B = "max(stackstream_aggregator_function_total_ratio{function=\"b\"})";
    private static final String FUNCTION_C = "max(stackstream_aggregator_function_total_ratio{function=\"c\"})";
    /** Queries that must be positive: the pipeline did real work, not just register zeros. */
    private static final List<String> POSITIVE = List.of(
            "sum(stackstream_collector_samples_total{outcome=\"taken\"})",
            "sum(stackstream_collector_windows_total{outcome=\"published\"})",
            "sum(stackstream_collector_published_bytes_total)",
            "sum(stackstream_collector_symbolization_addresses_total{outcome=\"resolved\"})",
            "sum(stackstream_collector_targets)",
            "max(process_memory_rss_bytes{job=\"stackstream-collector\"})",
            "sum(stackstream_aggregator_records_consumed_total)",
            "sum(stackstream_aggregator_dlq_records_total)",
            "sum(stackstream_aggregator_store_keys)",
            "sum(stackstream_aggregator_query_seconds_count{status=\"400\"})",
            FUNCTION_B, FUNCTION_C);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void everyDashboardQueryReturnsDataFromALivePipeline(@TempDir Path dir) throws Exception {
        assertTrue(Files.isExecutable(PROMETHEUS), PROMETHEUS + " not found: install Debian's prometheus package");
        int apiPort = freePort();
        int collectorPort = freePort();
        int promPort = freePort();

        // The shipped local scrape config, pointed at this run's ports, scraping every second.
        Path root = Path.of("").toAbsolutePath().getParent();
        String config = Files.readString(root.resolve("deploy/prometheus/prometheus-local.yml"))
                .replace("127.0.0.1:8080", "127.0.0.1:" + apiPort)
                .replace("127.0.0.1:9464", "127.0.0.1:" + collectorPort)
                .replace("scrape_interval: 15s", "scrape_interval: 1s");
        Path promConfig = dir.resolve("prometheus.yml");
        Files.writeString(promConfig, config);
        Process prometheus = new ProcessBuilder(PROMETHEUS.toString(), "--config.file=" + promConfig,
                "--storage.tsdb.path=" + dir.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + promPort)
                .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();

        DemoCommand demo = new DemoCommand();
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(demo);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(out, true));
        Path output = dir.resolve("out");
        AtomicInteger exit = new AtomicInteger(-1);
        // Long enough for Prometheus's rate() windows over several scrapes while the collector runs;
        // the test stops the workload as soon as every query has data.
        Thread run = new Thread(() -> exit.set(cl.execute("--duration", "90", "--frequency", "499",
                "--http-port", Integer.toString(apiPort), "--metrics-port", Integer.toString(collectorPort),
                "--output", output.toString(), "--serve")), "demo");
        run.start();
        try {
            String api = "http://127.0.0.1:" + apiPort;
            waitFor(() -> demo.kafkaBootstrap() != null && ok(api + "/healthz"), Duration.ofMinutes(3),
                    "the demo's aggregator to run\n" + out);
            // A record that is not ours: the aggregator must dead-letter it (the DLQ panel needs a series).
            try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, demo.kafkaBootstrap()),
                    new ByteArraySerializer(), new ByteArraySerializer())) {
                p.send(new ProducerRecord<>("stackstream-samples", "foreign".getBytes(StandardCharsets.UTF_8),
                        "not an avro record".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
            }

            List<DashboardQuery> queries = DashboardQuery.load(root);
            Map<String, String> missing = new LinkedHashMap<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
            do {
                // Traffic for the query panels: good requests and a bad one (400).
                get(api + "/api/v1/services");
                get(api + "/api/v1/profile?service=" + DemoCommand.SERVICE + "&from=now-5m&format=collapsed");
                get(api + "/api/v1/profile?service=" + DemoCommand.SERVICE + "&from=yesterday-ish");
                missing.clear();
                for (DashboardQuery q : queries) {
                    String expr = q.resolved();
                    HttpResponse<String> r = get("http://127.0.0.1:" + promPort + "/api/v1/query?query="
                            + URLEncoder.encode(expr, StandardCharsets.UTF_8));
                    JsonNode body = JSON.readTree(r.body());
                    if (r.statusCode() != 200 || !"success".equals(body.path("status").asText())) {
                        missing.put(q.panel(), "error " + r.body() + " for " + expr);
                    } else if (body.path("data").path("result").isEmpty()) {
                        missing.put(q.panel(), "no data for " + expr);
                    }
                }
                // Data is not enough: these must have counted real work.
                for (String positive : POSITIVE) {
                    JsonNode r = JSON.readTree(get("http://127.0.0.1:" + promPort + "/api/v1/query?query="
                            + URLEncoder.encode(positive, StandardCharsets.UTF_8)).body()).path("data").path("result");
                    double v = r.isEmpty() ? 0 : r.get(0).path("value").get(1).asDouble();
                    if (!(v > 0)) {
                        missing.put(positive, "= " + v + ", expected > 0");
                    }
                }
                if (missing.isEmpty()) {
                    break;
                }
                Thread.sleep(2000);
            } while (System.nanoTime() < deadline && run.isAlive());
            assertTrue(missing.isEmpty(), missing.size() + " of " + queries.size() + " dashboard queries (+ "
                    + POSITIVE.size() + " value checks) failed:\n" + String.join("\n", missing.entrySet().stream()
                    .map(e -> "  " + e.getKey() + ": " + e.getValue()).toList()));
            // The function metrics of real perf samples: calltree's 70/30 split, within the margin the
            // collapsed profile is held to below (the same samples, minus the window's last seconds).
            double b = instant(promPort, FUNCTION_B);
            double c = instant(promPort, FUNCTION_C);
            assertTrue(b > 0.6 && b < 0.8, "function metric: b's total share " + b);
            assertTrue(c > 0.2 && c < 0.4, "function metric: c's total share " + c);
            // Both live expositions pass Prometheus's linter.
            for (String endpoint : List.of(api + "/metrics", "http://127.0.0.1:" + collectorPort + "/metrics")) {
                String exposition = get(endpoint).body();
                Process lint = new ProcessBuilder("/usr/bin/promtool", "check", "metrics")
                        .redirectErrorStream(true).start();
                try (var in = lint.getOutputStream()) {
                    in.write(exposition.getBytes(StandardCharsets.UTF_8));
                }
                String lintOut = new String(lint.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(lint.waitFor(60, TimeUnit.SECONDS));
                assertEquals(0, lint.exitValue(), "promtool check metrics " + endpoint + ":\n" + lintOut);
            }
        } finally {
            demo.stop();
            run.join(TimeUnit.MINUTES.toMillis(3));
            prometheus.destroy();
            prometheus.waitFor(30, TimeUnit.SECONDS);
        }

        String log = out.toString();
        assertEquals(0, exit.get(), log);
        assertTrue(log.contains("hottest paths"), "summary printed:\n" + log);
        assertTrue(log.contains("UI:") && log.contains("/metrics"), "URLs printed:\n" + log);
        for (String f : List.of("flamegraph.svg", "flamegraph.html", "profile.collapsed", "summary.txt")) {
            assertTrue(Files.size(output.resolve(f)) > 0, f);
        }
        // calltree: main->a->b burns ~70 % of the CPU, main->c ~30 %.
        long ab = 0;
        long c = 0;
        long total = 0;
        for (String line : Files.readAllLines(output.resolve("profile.collapsed"))) {
            int sp = line.lastIndexOf(' ');
            long n = Long.parseLong(line.substring(sp + 1));
            total += n;
            if (line.contains(";a;b")) {
                ab += n;
            } else if (line.contains(";c")) {
                c += n;
            }
        }
        // The test stops the workload as soon as Prometheus has everything: a few seconds at 499 Hz.
        assertTrue(total > 200, "samples " + total);
        double abShare = (double) ab / total;
        double cShare = (double) c / total;
        assertTrue(abShare > 0.6 && abShare < 0.8, "a;b share " + abShare);
        assertTrue(cShare > 0.2 && cShare < 0.4, "c share " + cShare);
    }

    private double instant(int promPort, String query) throws Exception {
        JsonNode r = JSON.readTree(get("http://127.0.0.1:" + promPort + "/api/v1/query?query="
                + URLEncoder.encode(query, StandardCharsets.UTF_8)).body()).path("data").path("result");
        return r.isEmpty() ? Double.NaN : r.get(0).path("value").get(1).asDouble();
    }

    private boolean ok(String url) {
        try {
            return get(url).statusCode() == 200;
        } catch (Exception e) {
            return false;
        }
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    private static void waitFor(Check check, Duration timeout, String what) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!check.ok()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(500);
        }
    }

    /** A dashboard query with Grafana's variables filled in for this run. */
    private record DashboardQuery(String panel, String expr) {
        String resolved() {
            return expr.replace("$__rate_interval", "10s").replace("$__range", "5m")
                    .replace("$collector_job", "stackstream-collector")
                    .replace("$aggregator_job", "stackstream-aggregator")
                    .replace("$service", ".*");
        }

        static List<DashboardQuery> load(Path root) throws Exception {
            List<DashboardQuery> out = new ArrayList<>();
            JsonNode d = JSON.readTree(root.resolve("deploy/grafana/stackstream-operations.json").toFile());
            for (JsonNode p : d.path("panels")) {
                for (JsonNode t : p.path("targets")) {
                    out.add(new DashboardQuery(p.path("title").asText() + " [" + t.path("refId").asText() + "]",
                            t.path("expr").asText()));
                }
            }
            return out;
        }
    }
}
