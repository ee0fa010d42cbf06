package dev.stackstream.aggregator.engine;

import dev.stackstream.wire.WindowContext;
import dev.stackstream.wire.WireWindow;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;

/**
 * Checks a decoded window against what the aggregator can keep before anything of it is stored:
 * the record key, the window's time against the clock and retention, and the {@link IngestLimits}
 * on its context. Runs before the window's context is remembered, so a refused window changes no
 * state. Stateless.
 */
final class WindowAdmission {

    private WindowAdmission() {
    }

    /**
     * @param key the record key (the collector id, UTF-8, as every collector writes it)
     * @param nowMillis the aggregator's clock
     * @param keptSinceMillis the oldest time any tier still keeps (now minus the coarsest retention)
     * @throws UndecodableRecordException with reason {@code key-mismatch}, {@code window-in-future},
     *     {@code window-too-old} or {@code limits}
     */
    static void check(WireWindow b, byte[] key, long nowMillis, long keptSinceMillis, IngestLimits limits)
            throws UndecodableRecordException {
        byte[] id = b.collectorId().getBytes(StandardCharsets.UTF_8);
        if (key == null || !Arrays.equals(key, id)) {
            // The key picks the partition, so the collector's sequences and bindings live with it; a
            // window claiming another collector's id elsewhere would count or silence it twice.
            throw new UndecodableRecordException("key-mismatch", "window " + b.sequence() + " says collector "
                    + b.collectorId() + " but its record key is " + describe(key), null);
        }
        long start = b.windowStart().toEpochMilli();
        long end = b.windowEnd().toEpochMilli();
        if (start > nowMillis + limits.maxClockSkew().toMillis()) {
            throw new UndecodableRecordException("window-in-future", "window " + b.sequence() + " of collector "
                    + b.collectorId() + " starts at " + b.windowStart() + ", more than "
                    + DurationText.format(limits.maxClockSkew()) + " after the aggregator's clock ("
                    + Instant.ofEpochMilli(nowMillis) + "): is the collector's clock wrong?", null);
        }
        if (end < keptSinceMillis || start < 0) {
            throw new UndecodableRecordException("window-too-old", "window " + b.sequence() + " of collector "
                    + b.collectorId() + " ends at " + b.windowEnd() + ", before " + Instant.ofEpochMilli(
                    Math.max(0, keptSinceMillis)) + ", the oldest time any tier keeps", null);
        }
        if (!b.contextOmitted()) {
            checkContext(b, b.context(), limits);
        }
    }

    private static void checkContext(WireWindow b, WindowContext c, IngestLimits limits) throws UndecodableRecordException {
        String problem = null;
        if (utf8(c.service()) > limits.maxServiceBytes()) {
            problem = "service name of " + utf8(c.service()) + " bytes (limit " + limits.maxServiceBytes() + ")";
        } else if (c.labels().size() > limits.maxLabels()) {
            problem = c.labels().size() + " labels (limit " + limits.maxLabels() + ")";
        } else {
            for (Map.Entry<String, String> e : c.labels().entrySet()) {
                if (utf8(e.getKey()) > limits.maxLabelNameBytes()) {
                    problem = "label name of " + utf8(e.getKey()) + " bytes (limit " + limits.maxLabelNameBytes() + ")";
                    break;
                }
                if (utf8(e.getValue()) > limits.maxLabelValueBytes()) {
                    problem = "label " + e.getKey() + " with a value of " + utf8(e.getValue()) + " bytes (limit "
                            + limits.maxLabelValueBytes() + ")";
                    break;
                }
            }
        }
        if (problem == null && (utf8(c.typeName()) > limits.maxLabelValueBytes()
                || utf8(c.typeUnit()) > limits.maxLabelValueBytes())) {
            problem = "profile type name or unit longer than " + limits.maxLabelValueBytes() + " bytes";
        }
        if (problem != null) {
            throw new UndecodableRecordException("limits", "window " + b.sequence() + " of collector "
                    + b.collectorId() + " has a " + problem, null);
        }
    }

    private static int utf8(CharSequence s) {
        return s == null ? 0 : s.toString().getBytes(StandardCharsets.UTF_8).length;
    }

    private static String describe(byte[] key) {
        if (key == null) {
            return "empty";
        }
        String s = new String(key, StandardCharsets.UTF_8);
        return "'" + (s.length() > 80 ? s.substring(0, 80) + "..." : s) + "'";
    }
}
