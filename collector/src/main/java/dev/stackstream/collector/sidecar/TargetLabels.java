package dev.stackstream.collector.sidecar;

import java.util.Map;
import java.util.TreeMap;

/**
 * Labels describing where the collector runs, from the environment the Kubernetes downward API (or
 * any launcher) provides: {@code POD_NAME -> pod}, {@code POD_NAMESPACE -> namespace},
 * {@code NODE_NAME -> node}, {@code CONTAINER_NAME -> container}, {@code HOSTNAME -> host}.
 * User labels ({@code --label k=v}) are applied on top and win.
 */
final class TargetLabels {
    private static final Map<String, String> FROM_ENV = Map.of(
            "POD_NAME", "pod",
            "POD_NAMESPACE", "namespace",
            "NODE_NAME", "node",
            "CONTAINER_NAME", "container",
            "HOSTNAME", "host");

    private TargetLabels() {
    }

    static Map<String, String> of(Map<String, String> environment, Map<String, String> userLabels) {
        Map<String, String> labels = new TreeMap<>();
        FROM_ENV.forEach((variable, label) -> {
            String v = environment.get(variable);
            if (v != null && !v.isBlank()) {
                labels.put(label, v.trim());
            }
        });
        labels.putAll(userLabels);
        labels.remove("service");
        return labels;
    }
}
