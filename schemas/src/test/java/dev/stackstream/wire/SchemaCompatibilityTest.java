package dev.stackstream.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.junit.jupiter.api.Test;

/**
 * The current schemas must read every released version's records (backward) and every released
 * reader must read the current records (forward). A schema change that breaks either fails here;
 * a compatible change must be released as a new version (a new src/main/avro-released/vN).
 */
class SchemaCompatibilityTest {

    @Test
    void currentSchemasAreBackwardAndForwardCompatibleWithEveryReleasedVersion() {
        List<ReleasedSchemas.Version> released = ReleasedSchemas.all();
        assertFalse(released.isEmpty());
        for (ReleasedSchemas.Version v : released) {
            assertMutual("SampleBatch v" + v.number(), SampleBatch.getClassSchema(), v.sampleBatch());
            assertMutual("StackDefinition v" + v.number(), StackDefinition.getClassSchema(), v.stackDefinition());
        }
    }

    @Test
    void v1AndV2AreReleasedAndBothFingerprintsAreAccepted() throws Exception {
        List<ReleasedSchemas.Version> released = ReleasedSchemas.all();
        assertTrue(released.size() >= 2, "v1 and v2 released");
        assertTrue(released.get(0).sampleBatch().getField("packedEntries") == null, "v1 is the original");
        assertTrue(released.get(1).sampleBatch().getField("packedEntries") != null, "v2 has the compact fields");
        // v2 must also stay mutually compatible with v1 on its own (not just the current classes).
        assertMutual("SampleBatch v1 vs v2", released.get(1).sampleBatch(), released.get(0).sampleBatch());
        for (ReleasedSchemas.Version v : released) {
            byte[] header = new byte[WireCodec.HEADER_BYTES + 1];
            header[0] = (byte) 0xC3;
            header[1] = 0x01;
            java.nio.ByteBuffer.wrap(header, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .putLong(v.sampleBatchFingerprint());
            assertEquals(new WireCodec.Known(WireCodec.RecordType.SAMPLE_BATCH, v.number()), WireCodec.identify(header));
        }
    }

    @Test
    void currentSchemasAreReleased() {
        // Writers stamp the current fingerprint on every record; readers accept only released
        // fingerprints. A changed schema that is not copied to a new vN would be refused everywhere.
        ReleasedSchemas.Version latest = released(ReleasedSchemas.all().size());
        assertEquals(ReleasedSchemas.fingerprint(SampleBatch.getClassSchema()), latest.sampleBatchFingerprint(),
                "SampleBatch.avsc changed: copy src/main/avro to src/main/avro-released/v"
                        + (latest.number() + 1) + " to release it");
        assertEquals(ReleasedSchemas.fingerprint(StackDefinition.getClassSchema()), latest.stackDefinitionFingerprint(),
                "StackDefinition.avsc changed: release it as a new version");
    }

    @Test
    void theCheckRejectsABreakingChange() {
        // A required field without a default cannot be filled from an old record: backward break.
        String breaking = SampleBatch.getClassSchema().toString().replace(
                "{\"name\":\"sequence\",\"type\":\"long\"",
                "{\"name\":\"epoch\",\"type\":\"long\"},{\"name\":\"sequence\",\"type\":\"long\"");
        Schema changed = new Schema.Parser().parse(breaking);
        assertTrue(changed.getField("epoch") != null, "the mutation must have applied");
        assertEquals(SchemaCompatibilityType.INCOMPATIBLE,
                SchemaCompatibility.checkReaderWriterCompatibility(changed, released(1).sampleBatch()).getType());
        // Removing a field without a default breaks forward compatibility (old readers need it).
        String dropped = StackDefinition.getClassSchema().toString().replace(
                "{\"name\":\"stackId\",\"type\":{\"type\":\"fixed\"", "{\"name\":\"stackIdRenamed\",\"type\":{\"type\":\"fixed\"");
        Schema renamed = new Schema.Parser().parse(dropped);
        assertEquals(SchemaCompatibilityType.INCOMPATIBLE,
                SchemaCompatibility.checkReaderWriterCompatibility(released(1).stackDefinition(), renamed).getType());
    }

    private static ReleasedSchemas.Version released(int n) {
        return ReleasedSchemas.all().get(n - 1);
    }

    private static void assertMutual(String what, Schema current, Schema released) {
        var backward = SchemaCompatibility.checkReaderWriterCompatibility(current, released);
        assertEquals(SchemaCompatibilityType.COMPATIBLE, backward.getType(),
                "current reader cannot read " + what + ": " + backward.getDescription());
        var forward = SchemaCompatibility.checkReaderWriterCompatibility(released, current);
        assertEquals(SchemaCompatibilityType.COMPATIBLE, forward.getType(),
                what + " reader cannot read current records: " + forward.getDescription());
    }
}
