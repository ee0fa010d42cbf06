package dev.stackstream.aggregator.engine;

import dev.stackstream.profile.Stack;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.StackCount;
import dev.stackstream.wire.StackIndexDefinition;
import dev.stackstream.wire.ThreadIndexDefinition;
import dev.stackstream.wire.WireCodec;
import dev.stackstream.wire.WireFormatException;
import dev.stackstream.wire.WireModel;

/**
 * Topic bytes to wire objects through {@link WireCodec}, with a reason code per failure for the
 * dead-letter header and metric, plus the checks the schema cannot express (non-empty service,
 * window order, non-negative counts). Every failure is an {@link UndecodableRecordException};
 * nothing else escapes, so one bad record never stops the stream.
 */
public final class WireDecoding {

    private WireDecoding() {
    }

    /** Decodes and validates a SampleBatch (single-object encoding). */
    public static SampleBatch batch(byte[] value) throws UndecodableRecordException {
        SampleBatch batch;
        try {
            batch = WireCodec.decodeSampleBatch(value);
        } catch (WireFormatException e) {
            throw new UndecodableRecordException(classify(value), e.getMessage(), e);
        }
        validate(batch);
        return batch;
    }

    /** Decodes a StackDefinition into the profile model's Stack (checking its id against its frames). */
    public static Stack stack(byte[] value) throws UndecodableRecordException {
        try {
            return WireModel.fromDefinition(WireCodec.decodeStackDefinition(value));
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

    private static void validate(SampleBatch b) throws UndecodableRecordException {
        String problem = null;
        if (b.getService() == null || (b.getService().isBlank() && !b.getContextOmitted())) {
            problem = "service is empty";
        } else if (b.getCollectorId() == null || b.getCollectorId().isEmpty()) {
            problem = "collectorId is empty";
        } else if (b.getSequence() < 0) {
            problem = "sequence " + b.getSequence() + " is negative";
        } else if (b.getWindowEnd().isBefore(b.getWindowStart())) {
            problem = "windowEnd " + b.getWindowEnd() + " is before windowStart " + b.getWindowStart();
        } else if (b.getProfileType().getPeriod() <= 0 && !b.getContextOmitted()) {
            problem = "profile type period " + b.getProfileType().getPeriod() + " is not positive";
        } else if (b.getProfileType().getName().isBlank() && !b.getContextOmitted()) {
            problem = "profile type name is empty";
        } else {
            for (StackCount e : b.getEntries()) {
                if (e.getCount() < 0) {
                    problem = "entry count " + e.getCount() + " is negative";
                    break;
                }
            }
            // packedEntries were checked by WireCodec (corrupt blocks fail decoding, as "truncated").
            for (StackIndexDefinition d : b.getNewStacks()) {
                if (d.getIndex() < 0) {
                    problem = "stack index definition " + d.getIndex() + " is negative";
                    break;
                }
            }
            for (ThreadIndexDefinition d : b.getNewThreads()) {
                if (d.getIndex() < 0) {
                    problem = "thread index definition " + d.getIndex() + " is negative";
                    break;
                }
            }
            if (problem == null && b.getCollectorId().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                    > Short.MAX_VALUE) {
                problem = "collectorId is longer than " + Short.MAX_VALUE + " bytes";
            }
        }
        if (problem != null) {
            throw new UndecodableRecordException("invalid", problem, null);
        }
    }
}
