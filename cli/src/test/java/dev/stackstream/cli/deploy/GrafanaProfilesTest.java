package dev.stackstream.cli.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Offline checks of the Grafana side of profiles: the Pyroscope data source provisioning (type,
 * the aggregator Service's address, the bearer token from the Secret the aggregator reads), the
 * stackstream-profiles dashboard (flame graph, CPU series, function metrics, ops panels; its
 * PromQL valid for promtool), every dashboard's data source uids provisioned, every metric a
 * dashboard or alert rule names one the services export ({@link ExportedMetrics}), and the
 * function alert rules with their promtool unit tests.
 */
class GrafanaProfilesTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path RULES = DeployFiles.deploy().resolve("prometheus/rules/function-alerts.yml");
    private static final Set<String> PROMQL_WORDS = Set.of("by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "and", "or", "unless", "le", "inf", "nan");
    private static final Pattern IDENT = Pattern.compile("[A-Za-z_:][A-Za-z0-9_:]*");

    private static List<JsonNode> provisionedDatasources() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(DeployFiles.deploy().resolve("grafana/provisioning/datasources"))) {
            for (Path f : files.sorted().toList()) {
                YAML.readTree(f.toFile()).path("datasources").forEach(out::add);
            }
        }
        return out;
    }

    private static List<Path> dashboards() throws IOException {
        try (Stream<Path> files = Files.list(DeployFiles.deploy().resolve("grafana"))) {
            return files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        }
    }

    @Test
    void pyroscopeDatasourcePointsAtTheAggregatorServiceWithTheSecretsToken() throws Exception {
        JsonNode pyroscope = provisionedDatasources().stream()
                .filter(d -> d.path("type").asText().equals("grafana-pyroscope-datasource")).findFirst().orElseThrow();
        assertEquals("stackstream-pyroscope", pyroscope.path("uid").asText());
        assertEquals("proxy", pyroscope.path("access").asText());
        // The Service of deploy/kubernetes/base/aggregator.yaml in the base's namespace, on its port.
        List<JsonNode> docs = new ArrayList<>();
        YAML.readerFor(JsonNode.class).readValues(DeployFiles.deploy().resolve("kubernetes/base/aggregator.yaml").toFile())
                .forEachRemaining(d -> docs.add((JsonNode) d));
        JsonNode service = docs.stream().filter(d -> d.path("kind").asText().equals("Service")
                && d.path("metadata").path("name").asText().equals("stackstream-aggregator")).findFirst().orElseThrow();
        String namespace = YAML.readTree(DeployFiles.deploy().resolve("kubernetes/base/kustomization.yaml").toFile())
                .path("namespace").asText();
        int port = service.path("spec").path("ports").get(0).path("port").asInt();
        assertEquals("http://stackstream-aggregator." + namespace + ".svc:" + port, pyroscope.path("url").asText());
        assertEquals("Authorization", pyroscope.path("jsonData").path("httpHeaderName1").asText());
        assertEquals("Bearer ${STACKSTREAM_AUTH_TOKEN}", pyroscope.path("secureJsonData").path("httpHeaderValue1").asText());
        // The aggregator takes its token from the same Secret Grafana's environment is given.
        JsonNode statefulSet = docs.stream().filter(d -> d.path("kind").asText().equals("StatefulSet")).findFirst().orElseThrow();
        JsonNode token = null;
        for (JsonNode env : statefulSet.at("/spec/template/spec/containers/0/env")) {
            if (env.path("name").asText().equals("STACKSTREAM_AUTH_TOKEN")) {
                token = env.at("/valueFrom/secretKeyRef");
            }
        }
        assertTrue(token != null && token.path("name").asText().equals("stackstream-api-token")
                && token.path("key").asText().equals("token"), "aggregator token from the Secret: " + token);
    }

    /** Every data source a dashboard names is provisioned, or is a data source variable of that dashboard. */
    @Test
    void everyDashboardDatasourceUidIsProvisioned() throws Exception {
        Map<String, String> provisioned = new TreeMap<>();
        for (JsonNode d : provisionedDatasources()) {
            assertFalse(d.path("uid").asText().isEmpty(), "provisioned data source without a uid: " + d);
            provisioned.put(d.path("uid").asText(), d.path("type").asText());
        }
        for (Path file : dashboards()) {
            JsonNode dash = Dashboard.json(file);
            Set<String> variables = new TreeSet<>();
            for (JsonNode v : dash.path("templating").path("list")) {
                if (v.path("type").asText().equals("datasource")) {
                    variables.add("${" + v.path("name").asText() + "}");
                }
            }
            List<JsonNode> refs = new ArrayList<>();
            dash.findParents("datasource").forEach(p -> refs.add(p.path("datasource")));
            assertFalse(refs.isEmpty(), file + " names no data source");
            for (JsonNode ref : refs) {
                String uid = ref.path("uid").asText();
                assertTrue(variables.contains(uid) || ref.path("type").asText().equals(provisioned.get(uid)),
                        file.getFileName() + ": data source " + ref + " is not provisioned (" + provisioned + ")");
            }
        }
    }

    @Test
    void profilesDashboardHasTheFlameGraphSeriesAndFunctionMetricsPerService() throws Exception {
        JsonNode d = Dashboard.json(Dashboard.profilesFile());
        assertEquals("stackstream-profiles", d.path("uid").asText());
        JsonNode service = null;
        for (JsonNode v : d.path("templating").path("list")) {
            if (v.path("name").asText().equals("service")) {
                service = v;
            }
        }
        assertTrue(service != null && !service.path("multi").asBoolean(), "one service at a time");
        Map<String, JsonNode> byType = new TreeMap<>();
        Set<String> ids = new TreeSet<>();
        for (JsonNode p : d.path("panels")) {
            assertTrue(ids.add(p.path("id").asText()), "duplicate panel id " + p.path("id"));
            byType.putIfAbsent(p.path("type").asText() + ":" + p.path("datasource").path("type").asText(), p);
        }
        JsonNode flame = byType.get("flamegraph:grafana-pyroscope-datasource");
        assertTrue(flame != null, "a flame graph panel fed by the Pyroscope data source: " + byType.keySet());
        JsonNode q = flame.path("targets").get(0);
        assertEquals("profile", q.path("queryType").asText());
        assertEquals("process_cpu:cpu:nanoseconds:cpu:nanoseconds", q.path("profileTypeId").asText());
        assertEquals("{service_name=\"$service\"}", q.path("labelSelector").asText());
        JsonNode series = byType.get("timeseries:grafana-pyroscope-datasource");
        assertTrue(series != null && series.path("targets").get(0).path("queryType").asText().equals("metrics"),
                "CPU series from SelectSeries");
        String all = String.join("\n", Dashboard.queries(Dashboard.profilesFile()).stream().map(Dashboard.Query::expr).toList());
        for (String m : List.of("stackstream_aggregator_function_self_ratio", "stackstream_aggregator_function_total_ratio",
                "stackstream_aggregator_function_window_samples", "stackstream_aggregator_query_seconds_bucket",
                "stackstream_aggregator_consumer_lag", "stackstream_collector_samples_total")) {
            assertTrue(all.contains(m), m + " is not on the profiles dashboard");
        }
        for (Dashboard.Query query : Dashboard.queries(Dashboard.profilesFile())) {
            assertTrue(query.expr().contains("service=\"$service\"") || !query.expr().contains("function"),
                    query.panel() + ": function metrics of the chosen service");
        }
    }

    @Test
    void profilesDashboardQueriesAreValidPromql(@TempDir Path dir) throws Exception {
        List<Dashboard.Query> queries = Dashboard.queries(Dashboard.profilesFile());
        assertTrue(queries.size() >= 8, "queries: " + queries.size());
        Promtool.assertValidPromql(queries, dir);
    }

    /** Metric names of every dashboard query and alert rule, against what the code registers. */
    @Test
    void everyQueriedMetricIsExported() throws Exception {
        Set<String> exported = ExportedMetrics.names();
        assertTrue(exported.contains("stackstream_aggregator_function_self_ratio")
                && exported.contains("stackstream_collector_samples_total")
                && exported.contains("stackstream_aggregator_query_seconds_bucket"), "names read from the code: " + exported);
        // Exact names, not prefixes: the meter's name without its unit, or a counter without _total, is not exported.
        for (String absent : List.of("stackstream_aggregator_function_self", "stackstream_collector_samples",
                "stackstream_aggregator_query_seconds", "stackstream_aggregator_function_window_samples_total")) {
            assertFalse(exported.contains(absent), absent);
        }
        Map<String, String> expressions = new TreeMap<>();
        for (Path file : dashboards()) {
            for (Dashboard.Query q : Dashboard.queries(file)) {
                expressions.put(file.getFileName() + " / " + q.panel() + " / " + q.refId(), q.expr());
            }
        }
        Set<String> recorded = new TreeSet<>();
        for (JsonNode group : YAML.readTree(RULES.toFile()).path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                if (rule.has("record")) {
                    recorded.add(rule.path("record").asText());
                }
                expressions.put("function-alerts.yml / " + rule.path(rule.has("record") ? "record" : "alert").asText(),
                        rule.path("expr").asText());
            }
        }
        assertTrue(expressions.size() >= 40, "expressions: " + expressions.size());
        expressions.forEach((where, expr) -> {
            Set<String> names = metricNames(expr);
            assertFalse(names.isEmpty(), where + " names no metric: " + expr);
            for (String n : names) {
                assertTrue(exported.contains(n) || recorded.contains(n), where + ": " + n + " is not exported");
            }
        });
    }

    @Test
    void metricNamesAreReadFromPromql() {
        assertEquals(Set.of("a_total", "b_seconds_bucket", "c"), metricNames(
                "sum by (le, x) (rate(a_total{s=\"$service\", y=~\"a_b\"}[$__rate_interval])) / on (i) group_left ()"
                        + " histogram_quantile(0.99, b_seconds_bucket offset 1d) - scalar(c) > bool 0.5"));
    }

    /** The metric names a PromQL expression selects: identifiers outside strings, matchers, ranges and label lists, not calls. */
    static Set<String> metricNames(String expr) {
        String s = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
                .replaceAll("\\{[^}]*}", " ")
                .replaceAll("\\[[^]]*]", " ")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
        Set<String> out = new TreeSet<>();
        Matcher m = IDENT.matcher(s);
        while (m.find()) {
            String id = m.group();
            boolean call = s.substring(m.end()).matches("(?s)\\s*\\(.*");
            boolean number = m.start() > 0 && Character.isDigit(s.charAt(m.start() - 1));
            if (!call && !number && !PROMQL_WORDS.contains(id.toLowerCase())) {
                out.add(id);
            }
        }
        return out;
    }

    @Test
    void functionAlertRulesPassTheirPromtoolTests() throws Exception {
        Path dir = RULES.getParent();
        DeployFiles.Result check = promtool(dir, "check", "rules", RULES.toString());
        assertEquals(0, check.exit(), check.output());
        DeployFiles.Result test = promtool(dir, "test", "rules", dir.resolve("function-alerts.test.yml").toString());
        assertEquals(0, test.exit(), test.output());
        assertTrue(test.output().contains("SUCCESS"), test.output());
        String rules = Files.readString(RULES);
        assertTrue(rules.contains("offset 1d") && rules.contains("> 0.05"), "the alert compares with a day ago, 5 pp");
    }

    private static DeployFiles.Result promtool(Path dir, String... args) throws Exception {
        return Promtool.run(dir, args);
    }
}
