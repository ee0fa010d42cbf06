package dev.stackstream.wire;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The v2 {@code SampleBatch.packedEntries} block: a window's indexed entries as one run of
 * unsigned LEB128 varints.
 *
 * <p>Why not an Avro array of records: Avro already writes each int/long of such a record as a
 * zigzag varint, so the container costs nothing, but every field costs at least one byte per entry
 * and indexes are absolute. Sorted by stack index, an entry's stack index is a small delta, and two
 * flag bits in the same varint say whether a thread index and an instruction count follow; in the
 * common case (no per-thread sampling, no PMU) an entry is two bytes (delta and count) instead of
 * five. Measured in bench-wire.md.
 *
 * <p>Layout per entry, entries sorted by (stack index, thread index):
 * {@code (stackIndex - previousStackIndex) << 2 | hasThread << 1 | hasInstructions}, {@code count},
 * then {@code threadIndex} if hasThread, then {@code instructions} if hasInstructions (previous
 * stack index starts at 0).
 */
public final class PackedEntries {
    private static final Comparator<IndexedStackCount> ORDER = Comparator.comparingInt(IndexedStackCount::stackIndex)
            .thenComparingInt(IndexedStackCount::threadIndex);

    private PackedEntries() {
    }

    /** Packs {@code entries} (any order) into the batch's {@code packedEntries}. */
    public static void set(SampleBatch batch, List<IndexedStackCount> entries) {
        batch.setPackedEntries(ByteBuffer.wrap(encode(entries)));
    }

    /**
     * The batch's packed entries. Batches from {@link WireCodec} were checked when decoded.
     *
     * @throws IllegalArgumentException when the block is corrupt (only a batch built in memory can be)
     */
    public static List<IndexedStackCount> of(SampleBatch batch) {
        try {
            return decode(batch.getPackedEntries());
        } catch (WireFormatException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    public static byte[] encode(List<IndexedStackCount> entries) {
        List<IndexedStackCount> sorted = new ArrayList<>(entries);
        sorted.sort(ORDER);
        ByteBuffer out = ByteBuffer.allocate(Math.max(16, sorted.size() * 40));
        int previous = 0;
        for (IndexedStackCount e : sorted) {
            long head = ((long) (e.stackIndex() - previous) << 2) | (e.threadIndex() >= 0 ? 2 : 0)
                    | (e.instructions() >= 0 ? 1 : 0);
            putVarint(out, head);
            putVarint(out, e.count());
            if (e.threadIndex() >= 0) {
                putVarint(out, e.threadIndex());
            }
            if (e.instructions() >= 0) {
                putVarint(out, e.instructions());
            }
            previous = e.stackIndex();
        }
        byte[] bytes = new byte[out.position()];
        out.flip().get(bytes);
        return bytes;
    }

    /**
     * Unpacks a block (the buffer's position is left untouched).
     *
     * @throws WireFormatException when a varint is cut off or too long, or an index overflows
     */
    public static List<IndexedStackCount> decode(ByteBuffer block) throws WireFormatException {
        ByteBuffer in = block.duplicate();
        List<IndexedStackCount> out = new ArrayList<>();
        long stack = 0;
        while (in.hasRemaining()) {
            long head = varint(in, out.size());
            stack += head >>> 2;
            long count = varint(in, out.size());
            long thread = (head & 2) != 0 ? varint(in, out.size()) : -1;
            long instructions = (head & 1) != 0 ? varint(in, out.size()) : -1;
            if (stack < 0 || stack > Integer.MAX_VALUE || thread > Integer.MAX_VALUE || count < 0 || instructions < -1) {
                throw new WireFormatException("corrupt packedEntries: entry " + out.size() + " has stack index " + stack
                        + ", thread index " + thread + ", count " + count);
            }
            out.add(new IndexedStackCount((int) stack, count, (int) thread, instructions));
        }
        return out;
    }

    private static void putVarint(ByteBuffer out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.put((byte) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.put((byte) v);
    }

    private static long varint(ByteBuffer in, int entry) throws WireFormatException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!in.hasRemaining()) {
                throw new WireFormatException("corrupt packedEntries: entry " + entry + " is cut off");
            }
            byte b = in.get();
            v |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return v;
            }
        }
        throw new WireFormatException("corrupt packedEntries: a varint of entry " + entry + " is longer than 10 bytes");
    }
}
