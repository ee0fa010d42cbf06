package dev.stackstream.collector.sampling;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Decodes the record stream written by {@code ss_drain} (layout documented in
 * {@code native/include/stackstream.h}): 8-byte headers {@code u16 type, u16 flags, u32 size},
 * each record 8-byte aligned, native byte order. Unknown record types are skipped by their size,
 * so a newer library can add records without breaking this reader.
 *
 * <p>A record whose size is impossible (smaller than its fixed part, past the end of the data, or
 * not aligned) means the buffer is not a drain buffer of this API version; that is a bug, never
 * expected input, so it raises {@link DrainFormatException} naming the offset rather than guessing.
 */
public final class DrainParser {
    static final int REC_STACK = 1;
    static final int REC_COMM = 2;
    static final int REC_MMAP = 3;
    static final int REC_EXIT = 4;
    static final int FLAG_STACK_TRUNCATED = 1;
    static final int FLAG_COMM_EXEC = 2;

    static final int HEADER = 8;
    static final int STACK_FIXED = HEADER + 40;
    static final int COMM_FIXED = HEADER + 24;
    static final int MMAP_FIXED = HEADER + 60;
    static final int EXIT_FIXED = HEADER + 8;
    private static final int COMM_LEN = 16;
    private static final int BUILD_ID_MAX = 20;

    private DrainParser() {
    }

    /** Thrown for a buffer that does not follow the drain record layout. */
    public static final class DrainFormatException extends RuntimeException {
        DrainFormatException(String message) {
            super(message);
        }
    }

    /**
     * Parses {@code length} bytes of buf starting at index 0 (buf's position and limit are left
     * unchanged) and hands each record to visitor.
     *
     * @return the number of records seen, unknown ones included
     */
    public static int parse(ByteBuffer buf, int length, DrainVisitor visitor) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.nativeOrder());
        if (length < 0 || length > b.capacity()) {
            throw new DrainFormatException("drain length " + length + " outside buffer of " + b.capacity() + " bytes");
        }
        int records = 0;
        int off = 0;
        while (off < length) {
            if (length - off < HEADER) {
                throw new DrainFormatException("truncated record header at offset " + off + " of " + length);
            }
            int type = Short.toUnsignedInt(b.getShort(off));
            int flags = Short.toUnsignedInt(b.getShort(off + 2));
            long size = Integer.toUnsignedLong(b.getInt(off + 4));
            if (size < HEADER || size > length - off || (size & 7) != 0) {
                throw new DrainFormatException("record of type " + type + " at offset " + off + " has size "
                        + size + " (remaining " + (length - off) + " bytes, records are 8-byte aligned)");
            }
            int end = off + (int) size;
            switch (type) {
                case REC_STACK -> stack(b, off, end, flags, visitor);
                case REC_COMM -> comm(b, off, end, flags, visitor);
                case REC_MMAP -> mmap(b, off, end, visitor);
                case REC_EXIT -> {
                    need(type, off, end, EXIT_FIXED);
                    visitor.exit(b.getInt(off + 8), b.getInt(off + 12));
                }
                default -> { } // a newer record type: skipped by its size
            }
            records++;
            off = end;
        }
        return records;
    }

    private static void stack(ByteBuffer b, int off, int end, int flags, DrainVisitor v) {
        need(REC_STACK, off, end, STACK_FIXED);
        int pid = b.getInt(off + 8);
        int tid = b.getInt(off + 12);
        long count = b.getLong(off + 16);
        long weight = b.getLong(off + 24);
        long instructions = b.getLong(off + 32);
        int depth = Short.toUnsignedInt(b.getShort(off + 40));
        int kernelDepth = Short.toUnsignedInt(b.getShort(off + 42));
        need(REC_STACK, off, end, STACK_FIXED + 8L * depth);
        if (kernelDepth > depth) {
            throw new DrainFormatException("stack record at offset " + off + " has kernel_depth " + kernelDepth
                    + " > depth " + depth);
        }
        long[] ips = new long[depth];
        for (int i = 0; i < depth; i++) {
            ips[i] = b.getLong(off + STACK_FIXED + 8 * i);
        }
        int cut = Byte.toUnsignedInt(b.get(off + 44));
        v.stack(pid, tid, count, weight, instructions, ips, kernelDepth, (flags & FLAG_STACK_TRUNCATED) != 0, cut);
    }

    private static void comm(ByteBuffer b, int off, int end, int flags, DrainVisitor v) {
        need(REC_COMM, off, end, COMM_FIXED);
        int pid = b.getInt(off + 8);
        int tid = b.getInt(off + 12);
        int n = 0;
        while (n < COMM_LEN && b.get(off + 16 + n) != 0) {
            n++;
        }
        byte[] name = new byte[n];
        b.get(off + 16, name);
        v.comm(pid, tid, new String(name, StandardCharsets.UTF_8), (flags & FLAG_COMM_EXEC) != 0);
    }

    private static void mmap(ByteBuffer b, int off, int end, DrainVisitor v) {
        need(REC_MMAP, off, end, MMAP_FIXED);
        int pid = b.getInt(off + 8);
        long start = b.getLong(off + 16);
        long len = b.getLong(off + 24);
        long pgoff = b.getLong(off + 32);
        int buildIdLen = Byte.toUnsignedInt(b.get(off + 40));
        if (buildIdLen > BUILD_ID_MAX) {
            throw new DrainFormatException("mmap record at offset " + off + " has build_id_len " + buildIdLen);
        }
        byte[] buildId = null;
        if (buildIdLen > 0) {
            buildId = new byte[buildIdLen];
            b.get(off + 41, buildId);
        }
        long pathLen = Integer.toUnsignedLong(b.getInt(off + 64));
        need(REC_MMAP, off, end, MMAP_FIXED + pathLen);
        byte[] path = new byte[(int) pathLen];
        b.get(off + MMAP_FIXED, path);
        v.mmap(pid, start, len, pgoff, new String(path, StandardCharsets.UTF_8), buildId);
    }

    private static void need(int type, int off, int end, long bytes) {
        if (end - off < bytes) {
            throw new DrainFormatException("record of type " + type + " at offset " + off + " is " + (end - off)
                    + " bytes, needs " + bytes);
        }
    }
}
