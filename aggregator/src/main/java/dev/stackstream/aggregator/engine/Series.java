package dev.stackstream.aggregator.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One time series of profiles: a service, a label set and a profile type (name, unit, period).
 * Counts are bucketed per series; queries pick series by service, type and label matchers.
 * The {@link #id()} (16 bytes of SHA-256 over the canonical form) is the key of the tier stores.
 */
public record Series(String service, String type, String unit, long period, SortedMap<String, String> labels) {

    public Series {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(unit, "unit");
        labels = Collections.unmodifiableSortedMap(new TreeMap<>(labels));
    }

    public static Series of(String service, String type, String unit, long period, Map<String, String> labels) {
        return new Series(service, type, unit, period, new TreeMap<>(labels));
    }

    /** Canonical bytes: every field length-prefixed, labels sorted by name. */
    private byte[] canonical() {
        VarCodec.Out out = new VarCodec.Out(64 + labels.size() * 32);
        out.string(service).string(type).string(unit).varLong(period).varLong(labels.size());
        labels.forEach((k, v) -> out.string(k).string(v));
        return out.toByteArray();
    }

    /** The 16-byte series id. */
    public byte[] id() {
        return digest(null);
    }

    /**
     * The 16-byte id of the pre-merged series with these fields ({@link MergedSeries}): the same
     * canonical form hashed after a domain prefix, so it never equals the id of a series a
     * collector's labels describe.
     */
    public byte[] mergedId() {
        return digest(MERGED_DOMAIN);
    }

    private static final byte[] MERGED_DOMAIN = "stackstream merged series\0".getBytes(StandardCharsets.UTF_8);

    private byte[] digest(byte[] domain) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            if (domain != null) {
                sha.update(domain);
            }
            return Arrays.copyOf(sha.digest(canonical()), 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    /** Stored form: version, canonical fields, then the last time the series got data. */
    public byte[] encode(long lastSeenMillis) {
        byte[] c = canonical();
        VarCodec.Out out = new VarCodec.Out(c.length + 12);
        out.write(1);
        out.write(c, 0, c.length);
        out.varLong(lastSeenMillis);
        return out.toByteArray();
    }

    /** A stored series with the time it last got data. */
    public record Stored(Series series, long lastSeenMillis) { }

    public static Stored decode(byte[] bytes) {
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes);
            if (in.get() != 1) {
                throw new IllegalArgumentException("unknown version");
            }
            String service = VarCodec.string(in);
            String type = VarCodec.string(in);
            String unit = VarCodec.string(in);
            long period = VarCodec.varLong(in);
            int n = VarCodec.varInt(in, in.remaining());
            TreeMap<String, String> labels = new TreeMap<>();
            for (int i = 0; i < n; i++) {
                labels.put(VarCodec.string(in), VarCodec.string(in));
            }
            long lastSeen = VarCodec.varLong(in);
            return new Stored(new Series(service, type, unit, period, labels), lastSeen);
        } catch (RuntimeException e) {
            throw VarCodec.corrupt("series", e);
        }
    }

    @Override
    public String toString() {
        return service + "/" + type + labels;
    }

    /** UTF-8 helper for keys. */
    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
