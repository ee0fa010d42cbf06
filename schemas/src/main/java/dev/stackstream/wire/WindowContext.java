package dev.stackstream.wire;

import java.util.Map;
import java.util.Objects;

/**
 * The part of a window that a compact-format collector leaves out once it was delivered (v3
 * {@code contextOmitted}): service, labels and profile type. The type is kept as its three wire
 * fields rather than the model's {@code ProfileType}, which refuses values that only validation
 * downstream should judge.
 *
 * @param labels the target labels (without {@code service}); copied, immutable
 */
public record WindowContext(String service, Map<String, String> labels, String typeName, String typeUnit,
                            long typePeriod) {

    public WindowContext {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(typeName, "typeName");
        Objects.requireNonNull(typeUnit, "typeUnit");
        labels = Map.copyOf(labels);
    }
}
