package dev.stackstream.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;

class WireCodecTest {

    static SampleBatch batch() {
        // The builder fills v2's array defaults reflectively: Avro must trust the wire classes first.
        WireCodec.trustWireClasses();
        byte[] id = new byte[16];
        Arrays.fill(id, (byte) 7);
        return SampleBatch.newBuilder()
                .setService("checkout")
                .setLabels(Map.of("pod", "checkout-7f9c", "node", "n1"))
                .setProfileType(new ProfileType("cpu", "nanoseconds", 10_101_010L))
                .setWindowStart(Instant.ofEpochMilli(1_700_000_000_000L))
                .setWindowEnd(Instant.ofEpochMilli(1_700_000_010_000L))
                .setCollectorId("host-1-42-abcd")
                .setSequence(17)
                .setEntries(List.of(new StackCount(new StackId(id), 990L, "worker-1", null)))
                .setStats(new WindowStats(1L, 0L, 0L, 2L, 9_800_000_000L, null, null, null))
                .build();
    }

    static StackDefinition definition() {
        return new StackDefinition(new StackId(new byte[16]), List.of(
                new Frame("main", "/usr/bin/app", "ab12", 0x1130L, FrameKind.USER, null, 0),
                new Frame(null, "/usr/lib/libc.so.6", null, 0x2a0f0L, FrameKind.USER, null, 0)), true);
    }

    @Test
    void roundTripsBothRecordTypesWithTheSingleObjectHeader() throws Exception {
        byte[] bytes = WireCodec.encode(batch());
        assertEquals((byte) 0xC3, bytes[0]);
        assertEquals((byte) 0x01, bytes[1]);
        assertEquals(WireCodec.currentFingerprint(WireCodec.RecordType.SAMPLE_BATCH), WireCodec.fingerprintOf(bytes));
        assertEquals(batch(), WireCodec.decodeSampleBatch(bytes));
        assertEquals(new WireCodec.Known(WireCodec.RecordType.SAMPLE_BATCH, 4), WireCodec.identify(bytes));

        byte[] def = WireCodec.encode(definition());
        assertEquals(definition(), WireCodec.decodeStackDefinition(def));
        assertEquals(WireCodec.RecordType.STACK_DEFINITION, WireCodec.identify(def).type());
    }

    @Test
    void refusesAnUnknownSchemaFingerprintWithAMessage() throws Exception {
        // A real Avro single-object record, written with a schema no release has.
        Schema foreign = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"SampleBatch\","
                + "\"namespace\":\"dev.stackstream.wire\",\"fields\":[{\"name\":\"service\",\"type\":\"string\"},"
                + "{\"name\":\"shard\",\"type\":\"int\"}]}");
        GenericRecord r = new GenericData.Record(foreign);
        r.put("service", "checkout");
        r.put("shard", 3);
        byte[] bytes = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), foreign).encode(r).array();
        WireFormatException e = assertThrows(WireFormatException.class, () -> WireCodec.decodeSampleBatch(bytes));
        assertTrue(e.getMessage().startsWith("unknown schema fingerprint 0x"), e.getMessage());
        assertTrue(e.getMessage().contains("SampleBatch v1 0x"), "lists what it knows: " + e.getMessage());
        assertTrue(e.getMessage().contains("SampleBatch v2 0x"), "lists what it knows: " + e.getMessage());
        assertTrue(e.getMessage().contains("SampleBatch v3 0x"), "lists what it knows: " + e.getMessage());
    }

    @Test
    void refusesForeignBytesNamingWhatItSaw() throws Exception {
        WireFormatException json = assertThrows(WireFormatException.class,
                () -> WireCodec.decodeSampleBatch("{\"service\":\"x\"}".getBytes(StandardCharsets.UTF_8)));
        assertTrue(json.getMessage().contains("7B 22 73 65"), json.getMessage());
        assertTrue(json.getMessage().contains("JSON"), json.getMessage());

        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(new byte[] {1, 2, 3});
        }
        assertTrue(assertThrows(WireFormatException.class, () -> WireCodec.decodeStackDefinition(gz.toByteArray()))
                .getMessage().contains("gzip"));
        assertTrue(assertThrows(WireFormatException.class, () -> WireCodec.decodeSampleBatch(new byte[0]))
                .getMessage().contains("(empty)"));
        assertTrue(assertThrows(WireFormatException.class, () -> WireCodec.decodeSampleBatch(null))
                .getMessage().contains("null"));
        assertTrue(assertThrows(WireFormatException.class,
                () -> WireCodec.decodeSampleBatch(new byte[] {(byte) 0xC3, 1, 5}))
                .getMessage().contains("truncated single-object header"));
    }

    @Test
    void refusesTruncatedBodiesAndTheWrongRecordType() throws Exception {
        byte[] full = WireCodec.encode(batch());
        for (int cut : new int[] {WireCodec.HEADER_BYTES, WireCodec.HEADER_BYTES + 5, full.length / 2, full.length - 1}) {
            byte[] truncated = Arrays.copyOf(full, cut);
            WireFormatException e = assertThrows(WireFormatException.class, () -> WireCodec.decodeSampleBatch(truncated),
                    "cut at " + cut);
            assertTrue(e.getMessage().startsWith("truncated or corrupt SampleBatch v4 body"), e.getMessage());
        }
        WireFormatException wrong = assertThrows(WireFormatException.class,
                () -> WireCodec.decodeStackDefinition(full));
        assertEquals("record is a SampleBatch v4, expected a StackDefinition", wrong.getMessage());
    }

    /** A v2 batch in the compact form: indexes bound in this window, entries by index. */
    static SampleBatch compactBatch() {
        byte[] a = new byte[16];
        Arrays.fill(a, (byte) 7);
        byte[] b = new byte[16];
        Arrays.fill(b, (byte) 9);
        SampleBatch batch = batch();
        batch.setEntries(List.of());
        batch.setNewStacks(List.of(new StackIndexDefinition(0, new StackId(a)), new StackIndexDefinition(1, new StackId(b))));
        batch.setNewThreads(List.of(new ThreadIndexDefinition(0, "worker-1")));
        PackedEntries.set(batch, List.of(new IndexedStackCount(0, 990L, 0, -1L), new IndexedStackCount(1, 3L, -1, 12_345L)));
        return batch;
    }

    @Test
    void roundTripsCompactV2Batches() throws Exception {
        byte[] bytes = WireCodec.encode(compactBatch());
        assertEquals(compactBatch(), WireCodec.decodeSampleBatch(bytes));
        assertEquals(new WireCodec.Known(WireCodec.RecordType.SAMPLE_BATCH, 4), WireCodec.identify(bytes));
        // The point of v2: smaller than the same counts with 16-byte ids and names in every entry.
        SampleBatch v1Form = batch();
        v1Form.setEntries(List.of(new StackCount(compactBatch().getNewStacks().get(0).getStackId(), 990L, "worker-1", null),
                new StackCount(compactBatch().getNewStacks().get(1).getStackId(), 3L, null, 12_345L)));
        SampleBatch repeat = compactBatch();
        repeat.setNewStacks(List.of());
        repeat.setNewThreads(List.of());
        assertTrue(WireCodec.encode(repeat).length + 2 * 16 < WireCodec.encode(v1Form).length,
                "a window reusing bound indexes saves at least the ids");
    }

    @Test
    void decodesRecordsWrittenWithTheReleasedV1Schema() throws Exception {
        // Written exactly as a v1 collector does: the v1 schema's fingerprint and body.
        Schema v1 = ReleasedSchemas.all().get(0).sampleBatch();
        // (v1's fields are v2's first fields, same positions: the specific record writes as v1.)
        byte[] bytes = new BinaryMessageEncoder<SampleBatch>(org.apache.avro.specific.SpecificData.get(), v1)
                .encode(batch()).array();
        assertEquals(new WireCodec.Known(WireCodec.RecordType.SAMPLE_BATCH, 1), WireCodec.identify(bytes));
        SampleBatch decoded = WireCodec.decodeSampleBatch(bytes);
        assertEquals(batch(), decoded, "v1 fields carried over, v2 fields at their defaults");
        assertTrue(PackedEntries.of(decoded).isEmpty() && decoded.getNewStacks().isEmpty()
                && decoded.getNewThreads().isEmpty());
        // And a v1 reader reads a v2 record (forward compatibility): the v1 entries survive.
        var reader = new org.apache.avro.message.BinaryMessageDecoder<GenericRecord>(GenericData.get(), v1);
        reader.addSchema(SampleBatch.getClassSchema());
        GenericRecord old = reader.decode(WireCodec.encode(batch()));
        assertEquals(1, ((List<?>) old.get("entries")).size());
        assertEquals(17L, old.get("sequence"));
    }

    @Test
    void encodingIsDeterministic() {
        assertArrayEquals(WireCodec.encode(definition()), WireCodec.encode(definition()));
    }
}
