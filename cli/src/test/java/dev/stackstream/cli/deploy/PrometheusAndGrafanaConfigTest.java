package dev.stackstream.cli.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Offline checks of deploy/prometheus and deploy/grafana with Prometheus's own promtool (Debian:
 * prometheus): the scrape configs load, every dashboard query is valid PromQL, and the dashboard
 * covers every metric the services export. {@code PrometheusDashboardLiveTest} checks that the
 * queries return data from a running pipeline.
 */
class PrometheusAndGrafanaConfigTest {
    private static DeployFiles.Result promtool(Path dir, String... args) throws Exception {
        return Promtool.run(dir, args);
    }

    @Test
    void localAndComposeScrapeConfigsLoad() throws Exception {
        for (String file : List.of("prometheus/prometheus-local.yml", "compose/prometheus.yml")) {
            Path f = DeployFiles.deploy().resolve(file);
            DeployFiles.Result r = promtool(f.getParent(), "check", "config", f.toString());
            assertEquals(0, r.exit(), file + ": " + r.output());
            String text = Files.readString(f);
            assertTrue(text.contains("job_name: stackstream-aggregator") && text.contains("job_name: stackstream-collector"),
                    file + " uses the job names the dashboard selects");
        }
    }

    /**
     * Debian's Prometheus is built without Kubernetes service discovery, so the pod-discovery config
     * is checked with each kubernetes_sd_configs block swapped for a static target: everything else
     * (relabel rules, regexes, YAML anchors) is checked as written.
     */
    @Test
    void kubernetesScrapeConfigLoads(@TempDir Path dir) throws Exception {
        String text = Files.readString(DeployFiles.deploy().resolve("prometheus/prometheus.yml"));
        String block = "    kubernetes_sd_configs:\n      - role: pod\n";
        assertEquals(2, text.split(Pattern.quote(block), -1).length - 1, "two pod-discovery jobs");
        Path f = dir.resolve("prometheus.yml");
        Files.writeString(f, text.replace(block, "    static_configs:\n      - targets: [\"127.0.0.1:9\"]\n"));
        DeployFiles.Result r = promtool(dir, "check", "config", f.toString());
        assertEquals(0, r.exit(), r.output());
        for (String job : List.of("job_name: stackstream-aggregator", "job_name: stackstream-collector")) {
            assertTrue(text.contains(job), job);
        }
    }

    /** Each query, with Grafana's variables filled in, as a recording rule: promtool parses the PromQL. */
    @Test
    void everyDashboardQueryIsValidPromql(@TempDir Path dir) throws Exception {
        List<Dashboard.Query> queries = Dashboard.queries();
        assertTrue(queries.size() >= 30, "queries: " + queries.size());
        Promtool.assertValidPromql(queries, dir);
    }

    @Test
    void dashboardHasADatasourceVariableAndUsesItEverywhere() throws Exception {
        JsonNode d = Dashboard.json();
        boolean datasourceVar = false;
        for (JsonNode v : d.path("templating").path("list")) {
            datasourceVar |= v.path("type").asText().equals("datasource") && v.path("query").asText().equals("prometheus");
        }
        assertTrue(datasourceVar, "a Prometheus datasource variable");
        for (JsonNode p : d.path("panels")) {
            if (!p.path("type").asText().equals("row")) {
                assertEquals("${datasource}", p.path("datasource").path("uid").asText(), p.path("title").asText());
            }
        }
        Set<String> ids = new HashSet<>();
        for (JsonNode p : d.path("panels")) {
            assertTrue(ids.add(p.path("id").asText()), "duplicate panel id " + p.path("id"));
        }
    }

    /** The metrics issue 7 names, by exported name: each must be on the dashboard. */
    @Test
    void dashboardCoversEveryServiceMetric() throws Exception {
        String all = String.join("\n", Dashboard.queries().stream().map(Dashboard.Query::expr).toList());
        List<String> required = List.of(
                "stackstream_collector_samples_total", "stackstream_collector_window_stacks",
                "stackstream_collector_windows_total", "stackstream_collector_published_bytes_total",
                "stackstream_collector_publish_duration_seconds_bucket", "stackstream_collector_buffer_used_bytes",
                "stackstream_collector_buffer_dropped_bytes_total", "stackstream_collector_symbolization_addresses_total",
                "stackstream_collector_targets", "stackstream_collector_errors_total", "process_cpu_seconds_total",
                "process_memory_rss_bytes", "stackstream_aggregator_records_consumed_total",
                "stackstream_aggregator_consumer_lag", "stackstream_aggregator_dlq_records_total",
                "stackstream_aggregator_store_keys", "stackstream_aggregator_store_size_bytes",
                "stackstream_aggregator_rollup_lag_seconds", "stackstream_aggregator_query_seconds_bucket",
                "stackstream_aggregator_query_seconds_count");
        for (String m : required) {
            assertTrue(all.contains(m), m + " is not on the dashboard");
        }
        Matcher m = Pattern.compile("by \\(([a-z_, ]+)\\)").matcher(all);
        while (m.find()) {
            assertFalse(m.group(1).contains("pod_name"), "use the pod label, not pod_name");
        }
    }
}
