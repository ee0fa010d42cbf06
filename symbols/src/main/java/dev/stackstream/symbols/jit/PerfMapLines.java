package dev.stackstream.symbols.jit;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Perf-map lines parsed from bytes as they are read, with a bound on the line length: a line
 * longer than {@code maxLine} bytes is skipped (counted as bad) without ever being held in memory
 * beyond that bound — a target's map that is one endless line, or a link to {@code /dev/zero},
 * costs at most {@code maxLine} bytes of buffer. Entries are kept in file order.
 */
public final class PerfMapLines {
    /** Longer lines are not perf-map lines (a JVM signature or a JS location is far shorter). */
    public static final int DEFAULT_MAX_LINE = 16 * 1024;

    private final int maxLine;
    private final byte[] line;
    private int lineLength;
    private boolean skipping;
    private long[] starts = new long[64];
    private long[] sizes = new long[64];
    private String[] names = new String[64];
    private int n;
    private int bad;
    /** Bytes consumed up to and including the last complete line. */
    private long complete;
    private long fed;

    public PerfMapLines(int maxLine) {
        this(maxLine, false);
    }

    /**
     * @param insideLongLine the bytes start in the middle of a line already found too long (a
     *     previous read stopped inside it): they are skipped up to the next newline
     */
    public PerfMapLines(int maxLine, boolean insideLongLine) {
        if (maxLine < 16) {
            throw new IllegalArgumentException("maxLine must be >= 16, got " + maxLine);
        }
        this.maxLine = maxLine;
        this.line = new byte[maxLine];
        this.skipping = insideLongLine;
    }

    /** Parses bytes; a line not ended by '\n' yet waits for the next call. */
    public void feed(byte[] buf, int off, int len) {
        for (int i = off; i < off + len; i++) {
            byte b = buf[i];
            fed++;
            if (b == '\n') {
                if (skipping) {
                    bad++;
                    skipping = false;
                } else {
                    take(line, lineLength);
                }
                lineLength = 0;
                complete = fed;
            } else if (!skipping) {
                if (lineLength == maxLine) {
                    skipping = true; // too long: drop what we have and skip to the next newline
                    lineLength = 0;
                } else {
                    line[lineLength++] = b;
                }
            }
        }
    }

    /** The input ended: a last line without '\n' counts as a line. */
    public void endOfInput() {
        if (skipping) {
            bad++;
        } else if (lineLength > 0) {
            take(line, lineLength);
        }
        skipping = false;
        lineLength = 0;
        complete = fed;
    }

    /** Bytes up to the end of the last complete line (where a later read resumes). */
    public long completeBytes() {
        return complete;
    }

    /** Bytes fed so far. */
    public long fedBytes() {
        return fed;
    }

    /** True while the bytes since the last newline belong to a line over the bound. */
    public boolean skipping() {
        return skipping;
    }

    public int size() {
        return n;
    }

    public int badLines() {
        return bad;
    }

    long start(int i) {
        return starts[i];
    }

    long size(int i) {
        return sizes[i];
    }

    String name(int i) {
        return names[i];
    }

    private void take(byte[] b, int len) {
        int p = 0;
        while (p < len && (b[p] == ' ' || b[p] == '\t' || b[p] == '\r')) {
            p++;
        }
        int end = len;
        while (end > p && (b[end - 1] == '\r' || b[end - 1] == ' ')) {
            end--;
        }
        if (p == end) {
            return; // blank
        }
        int a0 = p;
        while (p < end && b[p] != ' ') {
            p++;
        }
        int a1 = p;
        while (p < end && b[p] == ' ') {
            p++;
        }
        int b0 = p;
        while (p < end && b[p] != ' ') {
            p++;
        }
        int b1 = p;
        if (p >= end - 1) {
            bad++; // no name
            return;
        }
        long start = hex(b, a0, a1);
        long size = hex(b, b0, b1);
        if (start == -1 || size == -1 || size <= 0 || start + size < start) {
            bad++;
            return;
        }
        if (n == starts.length) {
            starts = Arrays.copyOf(starts, n * 2);
            sizes = Arrays.copyOf(sizes, n * 2);
            names = Arrays.copyOf(names, n * 2);
        }
        starts[n] = start;
        sizes[n] = size;
        names[n] = new String(b, p + 1, end - p - 1, StandardCharsets.UTF_8);
        n++;
    }

    /** Hex with optional 0x; -1 when malformed (a perf map never holds an address of all ones). */
    private static long hex(byte[] s, int from, int to) {
        if (to - from > 2 && s[from] == '0' && (s[from + 1] == 'x' || s[from + 1] == 'X')) {
            from += 2;
        }
        if (to <= from || to - from > 16) {
            return -1;
        }
        long v = 0;
        for (int i = from; i < to; i++) {
            int d = Character.digit(s[i], 16);
            if (d < 0) {
                return -1;
            }
            v = (v << 4) | d;
        }
        return v;
    }
}
