package dev.stackstream.profile;

import java.util.HexFormat;

/**
 * 128-bit content hash of a symbolized stack: the same frames give the same id in every process,
 * pod and collector, so one dictionary entry serves them all. 128 bits keeps the chance of a
 * collision among billions of distinct stacks negligible.
 */
public record StackId(long high, long low) implements Comparable<StackId> {

    /** 32 lower-case hex digits. */
    public String toHex() {
        return HexFormat.of().toHexDigits(high) + HexFormat.of().toHexDigits(low);
    }

    /** The 16 bytes, big-endian: the form used as a Kafka key. */
    public byte[] toBytes() {
        byte[] out = new byte[16];
        for (int i = 0; i < 8; i++) {
            out[i] = (byte) (high >>> (56 - 8 * i));
            out[8 + i] = (byte) (low >>> (56 - 8 * i));
        }
        return out;
    }

    public static StackId fromBytes(byte[] bytes) {
        if (bytes == null || bytes.length != 16) {
            throw new IllegalArgumentException("a stack id is 16 bytes, got "
                    + (bytes == null ? "null" : bytes.length));
        }
        long high = 0;
        long low = 0;
        for (int i = 0; i < 8; i++) {
            high = (high << 8) | (bytes[i] & 0xff);
            low = (low << 8) | (bytes[8 + i] & 0xff);
        }
        return new StackId(high, low);
    }

    public static StackId fromHex(String hex) {
        if (hex == null || hex.length() != 32) {
            throw new IllegalArgumentException("a stack id is 32 hex digits, got '" + hex + "'");
        }
        return new StackId(HexFormat.fromHexDigitsToLong(hex, 0, 16),
                HexFormat.fromHexDigitsToLong(hex, 16, 32));
    }

    @Override
    public int compareTo(StackId o) {
        int c = Long.compareUnsigned(high, o.high);
        return c != 0 ? c : Long.compareUnsigned(low, o.low);
    }

    @Override
    public String toString() {
        return toHex();
    }
}
