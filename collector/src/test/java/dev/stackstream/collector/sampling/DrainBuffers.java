package dev.stackstream.collector.sampling;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Writes drain records in the layout of stackstream.h, for parser tests. */
final class DrainBuffers {
    private final ByteBuffer b = ByteBuffer.allocateDirect(1 << 16).order(ByteOrder.nativeOrder());

    DrainBuffers stack(int pid, int tid, long count, long weight, long instructions, int kernelDepth,
                       boolean truncated, long... ips) {
        int start = header(DrainParser.REC_STACK, truncated ? DrainParser.FLAG_STACK_TRUNCATED : 0);
        b.putInt(pid).putInt(tid).putLong(count).putLong(weight).putLong(instructions);
        b.putShort((short) ips.length).putShort((short) kernelDepth).putInt(0);
        for (long ip : ips) {
            b.putLong(ip);
        }
        return finish(start);
    }

    DrainBuffers comm(int pid, int tid, String name, boolean exec) {
        int start = header(DrainParser.REC_COMM, exec ? DrainParser.FLAG_COMM_EXEC : 0);
        b.putInt(pid).putInt(tid);
        byte[] n = new byte[16];
        byte[] s = name.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(s, 0, n, 0, Math.min(s.length, 16));
        b.put(n);
        return finish(start);
    }

    DrainBuffers mmap(int pid, long start, long len, long pgoff, byte[] buildId, String path) {
        int at = header(DrainParser.REC_MMAP, 0);
        b.putInt(pid).putInt(0).putLong(start).putLong(len).putLong(pgoff);
        b.put((byte) (buildId == null ? 0 : buildId.length));
        byte[] id = new byte[20];
        if (buildId != null) {
            System.arraycopy(buildId, 0, id, 0, buildId.length);
        }
        b.put(id).put(new byte[3]);
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        b.putInt(p.length).put(p);
        return finish(at);
    }

    DrainBuffers exit(int pid, int tid) {
        int start = header(DrainParser.REC_EXIT, 0);
        b.putInt(pid).putInt(tid);
        return finish(start);
    }

    /** A record of a type the parser does not know, with payloadBytes of payload. */
    DrainBuffers unknown(int type, int payloadBytes) {
        int start = header(type, 0);
        for (int i = 0; i < payloadBytes; i++) {
            b.put((byte) 0x5a);
        }
        return finish(start);
    }

    /** Raw bytes, for corrupt-input tests. */
    DrainBuffers raw(short type, short flags, int size) {
        b.putShort(type).putShort(flags).putInt(size);
        return this;
    }

    ByteBuffer buffer() {
        return b;
    }

    int length() {
        return b.position();
    }

    private int header(int type, int flags) {
        int start = b.position();
        b.putShort((short) type).putShort((short) flags).putInt(0);
        return start;
    }

    private DrainBuffers finish(int start) {
        while ((b.position() & 7) != 0) {
            b.put((byte) 0);
        }
        b.putInt(start + 4, b.position() - start);
        return this;
    }
}
