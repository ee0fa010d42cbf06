package dev.stackstream.aggregator.engine;

import java.io.ByteArrayOutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The few primitives of the aggregator's store formats: unsigned LEB128 varints, fixed big-endian
 * longs and length-prefixed UTF-8. Stores hold many small numbers (counts), so varints keep the
 * changelog small; fixed longs keep stack ids and bucket starts sortable.
 */
final class VarCodec {

    private VarCodec() {
    }

    /** A growable output buffer. */
    static final class Out extends ByteArrayOutputStream {
        Out(int size) {
            super(size);
        }

        Out varLong(long v) {
            while ((v & ~0x7FL) != 0) {
                write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            write((int) v);
            return this;
        }

        Out fixedLong(long v) {
            for (int i = 56; i >= 0; i -= 8) {
                write((int) (v >>> i));
            }
            return this;
        }

        Out string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            varLong(b.length);
            write(b, 0, b.length);
            return this;
        }

        /** Optional non-negative value: 0 for absent, v + 1 otherwise. */
        Out optional(long v, boolean present) {
            return varLong(present ? v + 1 : 0);
        }
    }

    static long varLong(ByteBuffer in) {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = in.get();
            result |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return result;
            }
        }
        throw new IllegalArgumentException("varint longer than 10 bytes");
    }

    static int varInt(ByteBuffer in, int max) {
        long v = varLong(in);
        if (v < 0 || v > max) {
            throw new IllegalArgumentException("length " + v + " out of range 0.." + max);
        }
        return (int) v;
    }

    static String string(ByteBuffer in) {
        int n = varInt(in, in.remaining());
        byte[] b = new byte[n];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Wraps a decoding failure of stored bytes into a clear exception. */
    static IllegalStateException corrupt(String what, RuntimeException cause) {
        String reason = cause instanceof BufferUnderflowException ? "truncated" : String.valueOf(cause.getMessage());
        return new IllegalStateException("corrupt " + what + " in a state store: " + reason, cause);
    }
}
