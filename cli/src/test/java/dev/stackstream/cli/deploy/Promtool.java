package dev.stackstream.cli.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Prometheus's own promtool (Debian: prometheus) for the deploy tests; missing, the test fails. */
final class Promtool {
    private static final String PROMTOOL = "/usr/bin/promtool";

    private Promtool() {
    }

    static DeployFiles.Result run(Path dir, String... args) throws Exception {
        DeployFiles.requireExecutable(PROMTOOL, "install Debian's prometheus package");
        List<String> cmd = new ArrayList<>(List.of(PROMTOOL));
        cmd.addAll(List.of(args));
        return DeployFiles.run(dir, 60, cmd);
    }

    /** Each query, with Grafana's variables filled in, as a recording rule: promtool parses the PromQL. */
    static void assertValidPromql(List<Dashboard.Query> queries, Path dir) throws Exception {
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        for (int i = 0; i < queries.size(); i++) {
            String expr = queries.get(i).resolve("1m", "1h", "stackstream-collector", "stackstream-aggregator");
            assertFalse(expr.contains("$"), "unresolved variable in " + queries.get(i));
            rules.append("      - record: dashboard:query").append(i).append("\n        expr: '")
                    .append(expr.replace("'", "''")).append("'\n");
        }
        Path f = dir.resolve("rules.yml");
        Files.writeString(f, rules.toString());
        DeployFiles.Result r = run(dir, "check", "rules", f.toString());
        assertEquals(0, r.exit(), r.output());
    }
}
