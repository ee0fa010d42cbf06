package dev.stackstream.aggregator.engine;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Dead-letter records: the original key, value and headers plus headers that say why and from
 * where. A value too large for the dead-letter topic is cut to its first {@link #KEPT_BYTES}
 * (header {@link #CUT_HEADER} gives the original length; the source offset still holds it whole),
 * so writing a dead letter can never fail with RecordTooLargeException and stop ingest.
 */
public final class DeadLetters {
    /** Reason code and description, e.g. {@code truncated: record ends early (12 bytes)}. */
    public static final String ERROR_HEADER = "stackstream.error";
    /** Reason code alone: foreign-bytes, unknown-schema, truncated, invalid, ... (aggregator/README.md). */
    public static final String REASON_HEADER = "stackstream.error.reason";
    /** Where the record came from: {@code topic-partition@offset}. */
    public static final String SOURCE_HEADER = "stackstream.source";
    /** Present when the value was cut: the original value's length in bytes. */
    public static final String CUT_HEADER = "stackstream.value.cut";

    /** Values up to this size are kept whole: below the broker's default 1 MiB record limit with headers. */
    static final int MAX_WHOLE_VALUE = 900 * 1024;
    /** What is kept of a larger value: enough to see its header and first fields. */
    static final int KEPT_BYTES = 64 * 1024;
    /** Original headers beyond this many bytes in all are left out of the dead letter. */
    private static final int MAX_HEADER_BYTES = 32 * 1024;

    private DeadLetters() {
    }

    /** A dead letter's value and headers (the key is the original one). */
    public record Letter(byte[] value, Headers headers) { }

    /** The dead letter for a record refused for {@code reason}, read at {@code source}. */
    public static Letter of(byte[] value, Headers original, String reason, String message, String source) {
        RecordHeaders headers = new RecordHeaders();
        int headerBytes = 0;
        if (original != null) {
            for (Header h : original) {
                headerBytes += h.key().length() + (h.value() == null ? 0 : h.value().length);
                if (headerBytes > MAX_HEADER_BYTES) {
                    break;
                }
                headers.add(h);
            }
        }
        String error = reason + ": " + message;
        if (error.length() > 4096) {
            error = error.substring(0, 4096) + "...";
        }
        headers.add(ERROR_HEADER, error.getBytes(StandardCharsets.UTF_8));
        headers.add(REASON_HEADER, reason.getBytes(StandardCharsets.UTF_8));
        headers.add(SOURCE_HEADER, source.getBytes(StandardCharsets.UTF_8));
        byte[] kept = value;
        if (value != null && value.length > MAX_WHOLE_VALUE) {
            kept = Arrays.copyOf(value, KEPT_BYTES);
            headers.add(CUT_HEADER, Integer.toString(value.length).getBytes(StandardCharsets.UTF_8));
        }
        return new Letter(kept, headers);
    }
}
