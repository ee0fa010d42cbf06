package dev.stackstream.wire;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;

import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.util.ClassSecurityValidator;

/**
 * Encodes and decodes the wire records with Avro single-object encoding: {@code C3 01}, the
 * 8-byte little-endian CRC-64-AVRO fingerprint of the writer's schema, then the Avro binary body.
 *
 * <p>Decoding accepts exactly the fingerprints of the released schema versions
 * ({@link ReleasedSchemas}) and resolves older versions to the current classes; everything else
 * fails with a {@link WireFormatException} that says what was seen. Thread-safe.
 */
public final class WireCodec {
    private static final byte MARKER_0 = (byte) 0xC3;
    private static final byte MARKER_1 = (byte) 0x01;
    /** Marker plus fingerprint. */
    public static final int HEADER_BYTES = 10;

    private static final BinaryMessageEncoder<SampleBatch> BATCH_ENCODER =
            new BinaryMessageEncoder<>(SpecificData.get(), SampleBatch.getClassSchema());
    private static final BinaryMessageEncoder<StackDefinition> DEFINITION_ENCODER =
            new BinaryMessageEncoder<>(SpecificData.get(), StackDefinition.getClassSchema());
    private static final BinaryMessageDecoder<SampleBatch> BATCH_DECODER;
    private static final BinaryMessageDecoder<StackDefinition> DEFINITION_DECODER;
    /** Fingerprint -> "SampleBatch v1" etc., for messages and for telling the types apart. */
    private static final Map<Long, Known> KNOWN = new LinkedHashMap<>();
    /** Fingerprint -> the writer's schema, for checking a body's lengths before Avro allocates them. */
    private static final Map<Long, Schema> WRITERS = new HashMap<>();

    /** Which record type and released version a fingerprint belongs to. */
    public record Known(RecordType type, int version) {
        @Override
        public String toString() {
            return type.schemaName() + " v" + version;
        }
    }

    /** The two record types on the wire. */
    public enum RecordType {
        SAMPLE_BATCH("SampleBatch"), STACK_DEFINITION("StackDefinition");

        private final String schemaName;

        RecordType(String schemaName) {
            this.schemaName = schemaName;
        }

        public String schemaName() {
            return schemaName;
        }
    }

    static {
        // Avro refuses to instantiate classes outside its trusted packages while decoding; trust
        // the generated wire classes, keeping whatever the application already trusts.
        ClassSecurityValidator.ClassSecurityPredicate previous = ClassSecurityValidator.getGlobal();
        ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(previous,
                c -> c.getName().startsWith("dev.stackstream.wire.")));
        // Decoders know no schema until told: only released versions are added.
        BATCH_DECODER = new BinaryMessageDecoder<>(SpecificData.get(), SampleBatch.getClassSchema(), null);
        DEFINITION_DECODER = new BinaryMessageDecoder<>(SpecificData.get(), StackDefinition.getClassSchema(), null);
        for (ReleasedSchemas.Version v : ReleasedSchemas.all()) {
            BATCH_DECODER.addSchema(v.sampleBatch());
            DEFINITION_DECODER.addSchema(v.stackDefinition());
            KNOWN.putIfAbsent(v.sampleBatchFingerprint(), new Known(RecordType.SAMPLE_BATCH, v.number()));
            KNOWN.putIfAbsent(v.stackDefinitionFingerprint(), new Known(RecordType.STACK_DEFINITION, v.number()));
            WRITERS.putIfAbsent(v.sampleBatchFingerprint(), v.sampleBatch());
            WRITERS.putIfAbsent(v.stackDefinitionFingerprint(), v.stackDefinition());
        }
    }

    private WireCodec() {
    }

    /**
     * Makes sure Avro trusts the generated wire classes (done once, when this class loads): needed
     * wherever records are decoded or built with defaults, before any other wire call.
     */
    public static void trustWireClasses() {
        // The static initializer did the work; calling this forces it.
    }

    public static byte[] encode(SampleBatch batch) {
        return encode(BATCH_ENCODER, batch, "SampleBatch");
    }

    public static byte[] encode(StackDefinition definition) {
        return encode(DEFINITION_ENCODER, definition, "StackDefinition");
    }

    private static <T> byte[] encode(BinaryMessageEncoder<T> encoder, T record, String what) {
        try {
            ByteBuffer buffer = encoder.encode(record);
            byte[] out = new byte[buffer.remaining()];
            buffer.get(out);
            return out;
        } catch (IOException | AvroRuntimeException | NullPointerException e) {
            // A required field left null reaches here: a programming error on the writer's side.
            throw new IllegalArgumentException("cannot encode " + what + ": " + e.getMessage(), e);
        }
    }

    public static SampleBatch decodeSampleBatch(byte[] bytes) throws WireFormatException {
        SampleBatch batch = decode(bytes, RecordType.SAMPLE_BATCH, BATCH_DECODER);
        try {
            PackedEntries.decode(batch.getPackedEntries());
        } catch (WireFormatException e) {
            throw new WireFormatException("truncated or corrupt " + identify(bytes) + " body (" + bytes.length
                    + " bytes): " + e.getMessage(), e);
        }
        return batch;
    }

    public static StackDefinition decodeStackDefinition(byte[] bytes) throws WireFormatException {
        return decode(bytes, RecordType.STACK_DEFINITION, DEFINITION_DECODER);
    }

    /**
     * A stacks-topic record value as the stack it defines.
     *
     * @throws WireFormatException when the bytes are no StackDefinition, or its id is not the hash
     *     of its frames ({@link WireModel#fromDefinition})
     */
    public static dev.stackstream.profile.Stack decodeStack(byte[] bytes) throws WireFormatException {
        return WireModel.fromDefinition(decodeStackDefinition(bytes));
    }

    /**
     * One window in the legacy form (v1 entries: 16-byte stack ids and thread names, context
     * always carried), for aggregators released before v2; {@link WireIndexer#encode} writes the
     * compact form. Arguments as {@link WireModel#toBatch}.
     */
    public static byte[] encodeWindow(dev.stackstream.profile.Profile window, String service,
                                      Map<String, String> labels, String collectorId, long sequence) {
        return encode(WireModel.toBatch(window, service, labels, collectorId, sequence));
    }

    /** The stacks-topic record value defining {@code stack} ({@link WireModel#toDefinition}). */
    public static byte[] encodeDefinition(dev.stackstream.profile.Stack stack) {
        return encode(WireModel.toDefinition(stack));
    }

    /**
     * What the header of {@code bytes} says, without decoding the body.
     *
     * @throws WireFormatException when the bytes are not single-object encoded or the fingerprint
     *     is not a released version
     */
    public static Known identify(byte[] bytes) throws WireFormatException {
        long fingerprint = fingerprintOf(bytes);
        Known known = KNOWN.get(fingerprint);
        if (known == null) {
            throw new WireFormatException("unknown schema fingerprint " + hex(fingerprint)
                    + " (CRC-64-AVRO of the writer's schema): the record was written with a schema this reader"
                    + " was not released with (a newer stackstream, or another application's Avro record);"
                    + " known: " + knownList());
        }
        return known;
    }

    /** The writer-schema fingerprint in a single-object header. */
    public static long fingerprintOf(byte[] bytes) throws WireFormatException {
        if (bytes == null) {
            throw new WireFormatException("no bytes (null record value; a tombstone?)");
        }
        if (bytes.length < 2 || bytes[0] != MARKER_0 || bytes[1] != MARKER_1) {
            throw new WireFormatException("not Avro single-object encoding: " + bytes.length + " bytes starting "
                    + preview(bytes) + ", expected the marker C3 01" + guess(bytes));
        }
        if (bytes.length < HEADER_BYTES) {
            throw new WireFormatException("truncated single-object header: " + bytes.length
                    + " bytes, the marker and fingerprint alone take " + HEADER_BYTES);
        }
        return ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** The fingerprint every record written by this build carries, per type. */
    public static long currentFingerprint(RecordType type) {
        return ReleasedSchemas.fingerprint(type == RecordType.SAMPLE_BATCH
                ? SampleBatch.getClassSchema() : StackDefinition.getClassSchema());
    }

    private static <T> T decode(byte[] bytes, RecordType expected, BinaryMessageDecoder<T> decoder)
            throws WireFormatException {
        Known known = identify(bytes);
        if (known.type() != expected) {
            throw new WireFormatException("record is a " + known + ", expected a " + expected.schemaName());
        }
        // Lengths checked against the bytes that are there first: Avro would allocate what a
        // record declares (a 2 GiB string in a 15-byte record) before noticing it is not there.
        try {
            AvroBounds.check(WRITERS.get(fingerprintOf(bytes)), bytes, HEADER_BYTES);
        } catch (WireFormatException e) {
            throw new WireFormatException("truncated or corrupt " + known + " body (" + bytes.length
                    + " bytes): " + e.getMessage(), e);
        }
        try {
            return decoder.decode(bytes);
        } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | NegativeArraySizeException
                 | UnsupportedOperationException e) {
            throw new WireFormatException("truncated or corrupt " + known + " body (" + bytes.length
                    + " bytes): " + e, e);
        }
    }

    private static String knownList() {
        StringJoiner j = new StringJoiner(", ");
        KNOWN.forEach((fp, k) -> j.add(k + " " + hex(fp)));
        return j.toString();
    }

    private static String hex(long fingerprint) {
        return "0x" + HexFormat.of().toHexDigits(fingerprint);
    }

    private static String preview(byte[] bytes) {
        int n = Math.min(bytes.length, 8);
        StringJoiner j = new StringJoiner(" ");
        for (int i = 0; i < n; i++) {
            j.add(HexFormat.of().withUpperCase().toHexDigits(bytes[i]));
        }
        return n == 0 ? "(empty)" : j + (bytes.length > n ? " ..." : "");
    }

    private static String guess(byte[] bytes) {
        if (bytes.length >= 2 && (bytes[0] & 0xff) == 0x1f && (bytes[1] & 0xff) == 0x8b) {
            return " (this looks like gzip data)";
        }
        if (bytes.length >= 4 && bytes[0] == 'O' && bytes[1] == 'b' && bytes[2] == 'j' && bytes[3] == 1) {
            return " (this looks like an Avro container file, not a single record)";
        }
        if (bytes.length >= 5 && bytes[0] == 0) {
            return " (a leading 0 byte looks like the Confluent schema-registry framing)";
        }
        if (bytes.length > 0 && (bytes[0] == '{' || bytes[0] == '[')) {
            return " (this looks like JSON text)";
        }
        return "";
    }

}
