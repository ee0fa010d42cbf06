package dev.stackstream.cli.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Validates deploy/kubernetes offline with deploy/kubernetes/validate/validate.mjs: kustomize build
 * of every overlay, schema validation of every document (Kubernetes, Strimzi, Prometheus Operator),
 * unknown fields, and the security policy; deploy/compose/compose.yaml against the Compose
 * Specification's JSON schema; the Grafana dashboard against @grafana/schema's Dashboard type. Node.js and npm must be installed; the validator's npm
 * packages are installed into cli/target/k8s-validate from the committed package-lock.json.
 */
class KubernetesManifestsTest {
    private static Path tool;

    @BeforeAll
    static void installValidator() throws Exception {
        DeployFiles.requireExecutable("/usr/bin/node", "install Node.js (Debian: nodejs npm)");
        Path src = DeployFiles.deploy().resolve("kubernetes/validate");
        tool = DeployFiles.target().resolve("k8s-validate");
        Files.createDirectories(tool);
        boolean fresh = !Files.isDirectory(tool.resolve("node_modules"))
                || !Files.exists(tool.resolve("package-lock.json"))
                || Files.mismatch(src.resolve("package-lock.json"), tool.resolve("package-lock.json")) != -1;
        for (String f : List.of("package.json", "package-lock.json", "validate.mjs")) {
            Files.copy(src.resolve(f), tool.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        if (fresh) {
            DeployFiles.Result r = DeployFiles.run(tool, 600,
                    List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"));
            assertEquals(0, r.exit(), "npm ci in " + tool + " failed:\n" + r.output());
        }
    }

    private static DeployFiles.Result validate(Path... dirs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("node", "validate.mjs", "--out", tool.resolve("rendered").toString()));
        for (Path d : dirs) {
            if (d.toString().endsWith(".yaml")) {
                cmd.add("--compose");
            } else if (d.toString().endsWith(".json")) {
                cmd.add("--dashboard");
            }
            cmd.add(d.toString());
        }
        return DeployFiles.run(tool, 300, cmd);
    }

    @Test
    void everyOverlayBuildsAndValidates() throws Exception {
        Path overlays = DeployFiles.deploy().resolve("kubernetes/overlays");
        List<Path> dirs;
        try (Stream<Path> s = Files.list(overlays)) {
            dirs = s.filter(Files::isDirectory).sorted().toList();
        }
        assertTrue(dirs.size() >= 2, "overlays: " + dirs);
        List<Path> all = new ArrayList<>(dirs);
        Path compose = DeployFiles.deploy().resolve("compose/compose.yaml");
        all.add(compose);
        Path dashboard = Dashboard.file();
        all.add(dashboard);
        all.add(Dashboard.profilesFile());
        DeployFiles.Result r = validate(all.toArray(Path[]::new));
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("valid " + compose), r.output());
        assertTrue(r.output().contains("valid " + dashboard), r.output());
        assertTrue(r.output().contains("valid " + Dashboard.profilesFile()), r.output());
        for (Path d : dirs) {
            assertTrue(r.output().contains("valid " + d), r.output());
        }
        String strimzi = Files.readString(tool.resolve("rendered/strimzi.yaml"));
        for (String kind : List.of("kind: Kafka\n", "kind: KafkaNodePool", "kind: StatefulSet", "kind: Deployment",
                "kind: ServiceMonitor", "kind: PodMonitor")) {
            assertTrue(strimzi.contains(kind), kind + " in the strimzi overlay");
        }
        assertEquals(3, strimzi.split("kind: KafkaTopic", -1).length - 1, "three topics");
        assertTrue(strimzi.contains("volumeClaimTemplates"), "the aggregator's state is on a PersistentVolumeClaim");
    }

    /** The validator must be able to fail: each injected fault is reported by name. */
    @Test
    void faultsAreReported(@TempDir Path dir) throws Exception {
        Path base = DeployFiles.deploy().resolve("kubernetes/base");
        Path copy = dir.resolve("base");
        Files.createDirectories(copy);
        try (Stream<Path> s = Files.list(base)) {
            for (Path f : s.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Files.writeString(copy.resolve("kustomization.yaml"), Files.readString(copy.resolve("kustomization.yaml"))
                + "configMapGenerator:\n  - name: stackstream-kafka\n    literals: [bootstrap.servers=kafka:9092]\n");
        replace(copy.resolve("example-app.yaml"), "shareProcessNamespace: true", "shareProcessNamespace: false");
        replace(copy.resolve("example-app.yaml"), "- SYSLOG ", "- SYS_ADMIN ");
        replace(copy.resolve("example-app.yaml"), "fieldPath: spec.nodeName", "fieldPath: metadata.uid");
        replace(copy.resolve("aggregator.yaml"), "replicas: 2", "replicas: two");
        replace(copy.resolve("aggregator.yaml"), "runAsNonRoot: true", "runAsNonRot: true");
        DeployFiles.Result r = validate(copy);
        assertEquals(1, r.exit(), r.output());
        String out = r.output();
        assertTrue(out.contains("capability SYS_ADMIN is not needed by the collector"), out);
        assertTrue(out.contains("needs shareProcessNamespace: true"), out);
        assertTrue(out.contains("env NODE_NAME must come from the downward API"), out);
        assertTrue(out.contains("spec/replicas must be integer"), out);
        assertTrue(out.contains("'\"runAsNonRot\"' does not exist"), out);
        assertTrue(out.contains("container aggregator: must run as non-root"), out);
    }

    @Test
    void composeFaultsAreReported(@TempDir Path dir) throws Exception {
        String compose = Files.readString(DeployFiles.deploy().resolve("compose/compose.yaml"));
        assertTrue(compose.contains("cap_add: [PERFMON, SYS_PTRACE, SYSLOG]"));
        Path bad = dir.resolve("compose.yaml");
        Files.writeString(bad, compose.replace("cap_add: [PERFMON, SYS_PTRACE, SYSLOG]", "cap_add: [PERFMON, SYS_ADMIN]")
                .replace("    pid: \"service:app\"\n", "")
                .replace("tmpfs: [/tmp]\n    cap_drop: [ALL]\n    security_opt", "tmpfs: [/tmp]\n    cap_drop: [ALL]\n    securty_opt"));
        DeployFiles.Result r = validate(bad);
        assertEquals(1, r.exit(), r.output());
        assertTrue(r.output().contains("capability SYS_ADMIN is not needed by the collector"), r.output());
        assertTrue(r.output().contains("must share the app's PID namespace"), r.output());
        assertTrue(r.output().contains("must NOT have additional properties (securty_opt)"), r.output());
    }

    @Test
    void dashboardFaultsAreReported(@TempDir Path dir) throws Exception {
        String json = Files.readString(Dashboard.file());
        Path bad = dir.resolve("dashboard.json");
        Files.writeString(bad, json.replaceFirst("\"gridPos\"", "\"gridPoz\"").replace("\"graphTooltip\": 1", "\"graphTooltip\": \"shared\""));
        DeployFiles.Result r = validate(bad);
        assertEquals(1, r.exit(), r.output());
        assertTrue(r.output().contains("'\"gridPoz\"' does not exist"), r.output());
        assertTrue(r.output().contains("graphTooltip"), r.output());
    }

    @Test
    void anUnknownKindIsAnErrorNotSkipped(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("kustomization.yaml"), "resources: [thing.yaml]\n");
        Files.writeString(dir.resolve("thing.yaml"),
                "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {}\n");
        DeployFiles.Result r = validate(dir);
        assertEquals(1, r.exit(), r.output());
        assertTrue(r.output().contains("no schema for example.com/v1 Widget"), r.output());
    }

    private static void replace(Path file, String from, String to) throws IOException {
        String s = Files.readString(file);
        assertTrue(s.contains(from), from + " in " + file);
        Files.writeString(file, s.replace(from, to));
    }
}
