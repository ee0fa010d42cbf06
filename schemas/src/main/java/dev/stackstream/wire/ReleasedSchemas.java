package dev.stackstream.wire;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * Every released version of the wire schemas, read from the jar
 * ({@code dev/stackstream/wire/released/vN/}, copied from {@code schemas/src/main/avro-released}).
 * Each version directory holds the same layout as {@code src/main/avro}: {@code common/StackId.avsc},
 * {@code common/Frame.avsc}, {@code SampleBatch.avsc}, {@code StackDefinition.avsc}. Versions are
 * numbered from 1 without gaps.
 */
public final class ReleasedSchemas {
    private static final String ROOT = "/dev/stackstream/wire/released/v";
    private static final List<Version> ALL = load();

    private ReleasedSchemas() {
    }

    /**
     * One released version.
     *
     * @param number version number, from 1
     * @param sampleBatch the SampleBatch schema of that version
     * @param stackDefinition the StackDefinition schema of that version
     */
    public record Version(int number, Schema sampleBatch, Schema stackDefinition) {
        public long sampleBatchFingerprint() {
            return fingerprint(sampleBatch);
        }

        public long stackDefinitionFingerprint() {
            return fingerprint(stackDefinition);
        }
    }

    /** All released versions, oldest first. */
    public static List<Version> all() {
        return ALL;
    }

    /** CRC-64-AVRO fingerprint of the schema's parsing canonical form: the 8 bytes in a single-object header. */
    public static long fingerprint(Schema schema) {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    private static List<Version> load() {
        List<Version> versions = new ArrayList<>();
        for (int n = 1; ; n++) {
            if (ReleasedSchemas.class.getResource(ROOT + n + "/SampleBatch.avsc") == null) {
                break;
            }
            Schema.Parser parser = new Schema.Parser();
            parse(parser, n, "common/StackId.avsc");
            parse(parser, n, "common/Frame.avsc");
            Schema batch = parse(parser, n, "SampleBatch.avsc");
            Schema definition = parse(parser, n, "StackDefinition.avsc");
            versions.add(new Version(n, batch, definition));
        }
        if (versions.isEmpty()) {
            throw new IllegalStateException("no released wire schemas on the class path under " + ROOT + "1/");
        }
        return List.copyOf(versions);
    }

    private static Schema parse(Schema.Parser parser, int version, String file) {
        String path = ROOT + version + "/" + file;
        try (InputStream in = ReleasedSchemas.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("released schema version " + version + " lacks " + file);
            }
            return parser.parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }
}
