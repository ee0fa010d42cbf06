package dev.stackstream.aggregator.engine;

import dev.stackstream.profile.Stack;
import dev.stackstream.wire.WireCodec;
import dev.stackstream.wire.WireFormatException;
import dev.stackstream.wire.WireWindow;
import java.nio.charset.StandardCharsets;

/**
 * Topic bytes to wire objects through {@link WireCodec}, with a reason code per failure for the
 * dead-letter header and metric, plus the checks the schema cannot express (non-empty service,
 * window order, non-negative counts). Every failure is an {@link UndecodableRecordException};
 * nothing else escapes, so one bad record never stops the stream.
 */
public final class WireDecoding {

    private WireDecoding() {
    }

    /** Decodes and validates a window (a SampleBatch, single-object encoding). */
    public static WireWindow batch(byte[] value) throws UndecodableRecordException {
        WireWindow window;
        try {
            window = WireWindow.decode(value);
        } catch (WireFormatException e) {
            throw new UndecodableRecordException(classify(value), e.getMessage(), e);
        }
        String problem = window.problem();
        if (problem == null && window.collectorId().getBytes(StandardCharsets.UTF_8).length > Short.MAX_VALUE) {
            // The collector-index store keys bindings by the id with a 2-byte length.
            problem = "collectorId is longer than " + Short.MAX_VALUE + " bytes";
        }
        if (problem != null) {
            throw new UndecodableRecordException("invalid", problem, null);
        }
        return window;
    }

    /** Decodes a StackDefinition into the profile model's Stack (checking its id against its frames). */
    public static Stack stack(byte[] value) throws UndecodableRecordException {
        try {
            return WireCodec.decodeStack(value);
        } catch (WireFormatException e) {
            throw new UndecodableRecordException(classify(value), e.getMessage(), e);
        }
    }

    /** The reason code of bytes WireCodec refused, from what their header shows. */
    static String classify(byte[] value) {
        if (value == null) {
            return "invalid";
        }
        if (value.length < 2 || value[0] != (byte) 0xC3 || value[1] != (byte) 0x01) {
            return "foreign-bytes";
        }
        if (value.length < WireCodec.HEADER_BYTES) {
            return "truncated";
        }
        try {
            WireCodec.identify(value);
        } catch (WireFormatException e) {
            return "unknown-schema";
        }
        return "truncated";
    }
}
