package dev.stackstream.wire;

import java.util.List;
import org.apache.avro.Schema;

/**
 * Walks an Avro binary body against its writer's schema without allocating, and refuses it when
 * any length or count it declares is larger than the bytes that follow.
 *
 * <p>Why: Avro's decoder allocates a string, byte array or collection of the size the record
 * declares before it finds that the bytes are not there, so a 15-byte record saying "2 GiB string"
 * ends in {@code OutOfMemoryError}. After this check passes, no allocation made while decoding can
 * be larger than the record itself (an item of an array takes at least one byte, except items of
 * zero size, whose count is capped by {@link #MAX_EMPTY_ITEMS}). The walk is linear in the body and
 * bounded in depth by the schema (the wire schemas are not recursive). Stateless and thread-safe.
 */
final class AvroBounds {
    /** Items that take no bytes (null, empty records) an array or map may declare in all. */
    static final long MAX_EMPTY_ITEMS = 1 << 16;

    private final byte[] bytes;
    private int pos;
    private long emptyItems;

    private AvroBounds(byte[] bytes, int offset) {
        this.bytes = bytes;
        this.pos = offset;
    }

    /**
     * Checks the body that starts at {@code offset} and runs to the end of {@code bytes}.
     *
     * @throws WireFormatException naming the field whose length or count does not fit
     */
    static void check(Schema writer, byte[] bytes, int offset) throws WireFormatException {
        AvroBounds walk = new AvroBounds(bytes, offset);
        walk.value(writer, writer.getName());
        if (walk.pos != bytes.length) {
            throw new WireFormatException((bytes.length - walk.pos) + " bytes follow the end of the "
                    + writer.getName() + " body");
        }
    }

    private void value(Schema s, String path) throws WireFormatException {
        switch (s.getType()) {
            case NULL -> { }
            case BOOLEAN -> need(1, path);
            case INT, LONG -> varLong(path);
            case FLOAT -> need(4, path);
            case DOUBLE -> need(8, path);
            case FIXED -> need(s.getFixedSize(), path);
            case ENUM -> {
                long i = varLong(path);
                if (i < 0 || i >= s.getEnumSymbols().size()) {
                    throw new WireFormatException(path + ": enum index " + i + " is not one of the "
                            + s.getEnumSymbols().size() + " symbols");
                }
            }
            case STRING, BYTES -> need(length(path), path);
            case RECORD -> {
                for (Schema.Field f : s.getFields()) {
                    value(f.schema(), path + "." + f.name());
                }
            }
            case UNION -> {
                List<Schema> branches = s.getTypes();
                long i = varLong(path);
                if (i < 0 || i >= branches.size()) {
                    throw new WireFormatException(path + ": union branch " + i + " of " + branches.size());
                }
                value(branches.get((int) i), path);
            }
            case ARRAY -> blocks(s.getElementType(), null, path);
            case MAP -> blocks(s.getValueType(), Schema.create(Schema.Type.STRING), path);
        }
    }

    /** Array and map blocks: a count (negative: followed by the block's byte size), 0 ends them. */
    private void blocks(Schema item, Schema key, String path) throws WireFormatException {
        boolean empty = key == null && isEmpty(item);
        while (true) {
            long count = varLong(path);
            if (count == 0) {
                return;
            }
            if (count < 0) {
                if (count == Long.MIN_VALUE) {
                    throw new WireFormatException(path + ": block count out of range");
                }
                count = -count;
                long size = varLong(path);
                if (size < 0 || size > bytes.length - pos) {
                    throw new WireFormatException(path + ": block of " + size + " bytes, " + (bytes.length - pos)
                            + " left");
                }
            }
            if (empty) {
                emptyItems += count;
                if (emptyItems > MAX_EMPTY_ITEMS) {
                    throw new WireFormatException(path + ": more than " + MAX_EMPTY_ITEMS + " empty items");
                }
            } else if (count > bytes.length - pos) {
                throw new WireFormatException(path + ": " + count + " items declared, " + (bytes.length - pos)
                        + " bytes left");
            }
            for (long i = 0; i < count; i++) {
                if (key != null) {
                    value(key, path + "{key}");
                }
                value(item, path + "[]");
            }
        }
    }

    private static boolean isEmpty(Schema s) {
        return switch (s.getType()) {
            case NULL -> true;
            case RECORD -> s.getFields().stream().allMatch(f -> isEmpty(f.schema()));
            default -> false;
        };
    }

    private long length(String path) throws WireFormatException {
        long n = varLong(path);
        if (n < 0) {
            throw new WireFormatException(path + ": negative length " + n);
        }
        return n;
    }

    private void need(long n, String path) throws WireFormatException {
        if (n > bytes.length - pos) {
            throw new WireFormatException(path + ": " + n + " bytes declared, " + (bytes.length - pos) + " left"
                    + " (truncated or corrupt record)");
        }
        pos += (int) n;
    }

    /** A zig-zag varint of at most 10 bytes. */
    private long varLong(String path) throws WireFormatException {
        long raw = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= bytes.length) {
                throw new WireFormatException(path + ": the record ends inside a number");
            }
            int b = bytes[pos++] & 0xff;
            raw |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return (raw >>> 1) ^ -(raw & 1);
            }
        }
        throw new WireFormatException(path + ": a number longer than 10 bytes");
    }
}
