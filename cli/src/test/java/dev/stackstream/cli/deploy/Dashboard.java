package dev.stackstream.cli.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The queries of the dashboards in deploy/grafana (stackstream-operations.json unless a file is
 * named), with Grafana's variables resolved.
 */
final class Dashboard {
    /** One query of one panel. */
    record Query(String panel, String refId, String expr) {
        /** The query as Prometheus would receive it from Grafana, for the given variable values. */
        String resolve(String rateInterval, String range, String collectorJob, String aggregatorJob) {
            return expr.replace("$__rate_interval", rateInterval)
                    .replace("$__range", range)
                    .replace("$collector_job", collectorJob)
                    .replace("$aggregator_job", aggregatorJob)
                    .replace("$service", ".*");
        }
    }

    private Dashboard() {
    }

    static Path file() {
        return DeployFiles.deploy().resolve("grafana/stackstream-operations.json");
    }

    /** The per-service profiles dashboard (flame graph, function metrics, ops panels). */
    static Path profilesFile() {
        return DeployFiles.deploy().resolve("grafana/stackstream-profiles.json");
    }

    static JsonNode json() throws IOException {
        return json(file());
    }

    static JsonNode json(Path file) throws IOException {
        return new ObjectMapper().readTree(file.toFile());
    }

    static List<Query> queries() throws IOException {
        return queries(file());
    }

    /** The PromQL queries (targets with an expr) of every panel of the dashboard in file. */
    static List<Query> queries(Path file) throws IOException {
        List<Query> out = new ArrayList<>();
        collect(json(file).path("panels"), out);
        return out;
    }

    private static void collect(JsonNode panels, List<Query> out) {
        for (JsonNode p : panels) {
            for (JsonNode t : p.path("targets")) {
                if (!t.has("expr")) {
                    continue;
                }
                out.add(new Query(p.path("title").asText(), t.path("refId").asText(), t.path("expr").asText()));
            }
            collect(p.path("panels"), out);
        }
    }
}
