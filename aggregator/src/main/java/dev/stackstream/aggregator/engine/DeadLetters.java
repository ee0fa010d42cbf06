package dev.stackstream.aggregator.engine;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Dead-letter records: the original key, value and headers plus headers that say why and from
 * where. A value too large for the dead-letter topic is cut to its first {@link #KEPT_BYTES} or
 * fewer (header {@link #CUT_HEADER} gives the original length; the source offset still holds it
 * whole). "Too large" is measured against the topic's own limit ({@link RecordLimits}, read at
 * start): the letter's key, headers and record overhead are counted, so a letter fits a topic
 * configured below the broker's default too, instead of being refused (an aborted transaction and a
 * stream thread replaced, see {@link RefusedDeadLetters}). A key too large for the topic on its own
 * still makes the letter refused; the stub then takes its place.
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

    /** Values up to this size are kept whole at most, whatever the topic takes. */
    static final int MAX_WHOLE_VALUE = 900 * 1024;
    /** A record batch's header (61 bytes) and one record's own varints (under 40), rounded up. */
    static final int RECORD_OVERHEAD = 128;
    /** A header's key and value lengths in the record (two varints). */
    private static final int HEADER_OVERHEAD = 10;
    /** What is kept of a larger value: enough to see its header and first fields. */
    static final int KEPT_BYTES = 64 * 1024;
    /** Original headers beyond this many bytes in all are left out of the dead letter. */
    private static final int MAX_HEADER_BYTES = 32 * 1024;

    private DeadLetters() {
    }

    /** A dead letter's value and headers (the key is the original one). */
    public record Letter(byte[] value, Headers headers) { }

    /** The dead letter for a record refused for {@code reason}, read at {@code source}, for a topic of the broker's default limit. */
    public static Letter of(byte[] value, Headers original, String reason, String message, String source) {
        return of(null, value, original, reason, message, source, RecordLimits.BROKER_DEFAULT_BYTES);
    }

    /** The value of at most this many bytes a topic taking records of {@code recordBytes} keeps whole (no key or headers). */
    static int wholeValueCap(int recordBytes) {
        return Math.max(0, Math.min(MAX_WHOLE_VALUE, recordBytes - RECORD_OVERHEAD));
    }

    /**
     * The dead letter for a record with {@code key} refused for {@code reason}, read at {@code source},
     * sized for a topic that takes records of at most {@code recordBytes}.
     */
    public static Letter of(byte[] key, byte[] value, Headers original, String reason, String message, String source,
                            int recordBytes) {
        RecordHeaders headers = new RecordHeaders();
        int kept = 0;
        if (original != null) {
            for (Header h : original) {
                int size = headerSize(h.key(), h.value());
                if (kept + size > MAX_HEADER_BYTES) {
                    break;
                }
                kept += size;
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
        // What the value may take of the topic's limit once the key and every header are in.
        int room = recordBytes - RECORD_OVERHEAD - (key == null ? 0 : key.length);
        for (Header h : headers) {
            room -= headerSize(h.key(), h.value());
        }
        byte[] keptValue = value;
        if (value != null && value.length > Math.min(MAX_WHOLE_VALUE, room)) {
            byte[] cut = Integer.toString(value.length).getBytes(StandardCharsets.UTF_8);
            headers.add(CUT_HEADER, cut);
            room -= headerSize(CUT_HEADER, cut);
            keptValue = Arrays.copyOf(value, Math.max(0, Math.min(KEPT_BYTES, room)));
        }
        return new Letter(keptValue, headers);
    }

    private static int headerSize(String key, byte[] value) {
        return HEADER_OVERHEAD + key.getBytes(StandardCharsets.UTF_8).length + (value == null ? 0 : value.length);
    }
}
