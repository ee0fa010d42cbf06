package dev.stackstream.aggregator.engine;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Which window sequence numbers of one collector were already counted, so a replayed window
 * (a producer retry, a collector re-sending its buffer, a topic re-read) is recognised.
 *
 * <p>Collectors number windows from 0 without gaps, but a collector whose buffer overflowed drops
 * its oldest windows, so gaps happen and windows can arrive late. The tracker keeps a watermark
 * (every sequence at or below it was seen) and the sorted disjoint ranges seen above it. A range
 * touching the watermark is folded into it. At most {@link #MAX_RANGES} ranges are kept: beyond
 * that the oldest gap is given up (the watermark jumps over it), and a window from inside a given-up
 * gap is then treated as already seen — never counted twice, possibly dropped when extremely late.
 *
 * <p>Lives in a changelogged store updated in the same transaction as the counts, so exactly-once
 * holds across crashes.
 */
public final class SequenceTracker {
    /** Distinct gaps remembered per collector. */
    public static final int MAX_RANGES = 64;
    private static final byte VERSION = 1;

    private long watermark = -1;
    private long lastSeenMillis;
    /** Flat [start0, end0, start1, end1, ...], inclusive, sorted, disjoint, non-adjacent, all > watermark + 1. */
    private final List<long[]> ranges = new ArrayList<>();

    /**
     * Records seq as seen and returns true if it was new (count it), false for a replay.
     * Negative sequences are never new.
     */
    public boolean accept(long seq, long nowMillis) {
        lastSeenMillis = Math.max(lastSeenMillis, nowMillis);
        if (seq <= watermark) {
            return false;
        }
        int i = 0;
        while (i < ranges.size() && ranges.get(i)[1] < seq - 1) {
            i++;
        }
        if (i < ranges.size() && ranges.get(i)[0] <= seq && seq <= ranges.get(i)[1]) {
            return false;
        }
        if (i < ranges.size() && ranges.get(i)[1] == seq - 1) {
            ranges.get(i)[1] = seq;
            if (i + 1 < ranges.size() && ranges.get(i + 1)[0] == seq + 1) {
                ranges.get(i)[1] = ranges.get(i + 1)[1];
                ranges.remove(i + 1);
            }
        } else if (i < ranges.size() && ranges.get(i)[0] == seq + 1) {
            ranges.get(i)[0] = seq;
        } else {
            ranges.add(i, new long[] {seq, seq});
        }
        foldIntoWatermark();
        while (ranges.size() > MAX_RANGES) {
            watermark = ranges.remove(0)[1];
            foldIntoWatermark();
        }
        return true;
    }

    private void foldIntoWatermark() {
        while (!ranges.isEmpty() && ranges.get(0)[0] <= watermark + 1) {
            watermark = Math.max(watermark, ranges.remove(0)[1]);
        }
    }

    /** Highest sequence below which everything was seen (-1 before the first). */
    public long watermark() {
        return watermark;
    }

    /** Ranges seen above the watermark. */
    public int ranges() {
        return ranges.size();
    }

    /** When this collector's last window was processed (epoch ms). */
    public long lastSeenMillis() {
        return lastSeenMillis;
    }

    public byte[] encode() {
        VarCodec.Out out = new VarCodec.Out(24 + ranges.size() * 6);
        out.write(VERSION);
        out.varLong(watermark + 1).varLong(lastSeenMillis).varLong(ranges.size());
        long prev = watermark;
        for (long[] r : ranges) {
            out.varLong(r[0] - prev).varLong(r[1] - r[0]);
            prev = r[1];
        }
        return out.toByteArray();
    }

    public static SequenceTracker decode(byte[] bytes) {
        SequenceTracker t = new SequenceTracker();
        if (bytes == null) {
            return t;
        }
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes);
            if (in.get() != VERSION) {
                throw new IllegalArgumentException("unknown version");
            }
            t.watermark = VarCodec.varLong(in) - 1;
            t.lastSeenMillis = VarCodec.varLong(in);
            int n = VarCodec.varInt(in, MAX_RANGES + 1);
            long prev = t.watermark;
            for (int i = 0; i < n; i++) {
                long start = prev + VarCodec.varLong(in);
                long end = start + VarCodec.varLong(in);
                t.ranges.add(new long[] {start, end});
                prev = end;
            }
            return t;
        } catch (RuntimeException e) {
            throw VarCodec.corrupt("sequence tracker", e);
        }
    }
}
