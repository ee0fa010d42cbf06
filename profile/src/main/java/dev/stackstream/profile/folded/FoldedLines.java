package dev.stackstream.profile.folded;

import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.SortedMap;

/**
 * Folded lines (flamegraph.pl's collapsed stacks: stack text to count) held as one UTF-8 byte
 * array plus offsets, in string order, each stack once. It is an unmodifiable {@link SortedMap}
 * whose keys are decoded only when asked for; renderers walk the bytes through a {@link Cursor}
 * instead, so a 60 MB input never becomes 100k Strings.
 *
 * <p>The text is valid UTF-8 (malformed input is replaced by U+FFFD before it gets here), so equal
 * bytes mean equal Strings and byte order is {@link String#compareTo} order except where a
 * supplementary character meets one in U+E000..U+FFFF, which {@link #compare} corrects.
 */
public final class FoldedLines extends AbstractMap<String, Long> implements SortedMap<String, Long> {
    private final byte[] text;
    private final int[] from;
    private final int[] to;
    private final long[] counts;
    private final int size;

    FoldedLines(byte[] text, int[] from, int[] to, long[] counts, int size) {
        this.text = text;
        this.from = from;
        this.to = to;
        this.counts = counts;
        this.size = size;
    }

    /** The lines of a map iterating in string order (folded lines as any reader or FoldedStacks gives them). */
    public static FoldedLines of(SortedMap<String, Long> folded) {
        if (folded instanceof FoldedLines f) {
            return f;
        }
        long[] counts = new long[folded.size()];
        int i = 0;
        for (long c : folded.values()) {
            counts[i++] = c;
        }
        return of(folded.keySet(), counts);
    }

    /** Lines from stack texts in string order (no duplicates) and their counts, index for index. */
    public static FoldedLines of(Collection<String> stacks, long[] counts) {
        int n = stacks.size();
        byte[][] encoded = new byte[n][];
        int total = 0;
        int i = 0;
        for (String s : stacks) {
            encoded[i] = s.getBytes(StandardCharsets.UTF_8);
            total += encoded[i++].length;
        }
        byte[] text = new byte[total];
        int[] from = new int[n];
        int[] to = new int[n];
        int at = 0;
        for (i = 0; i < n; i++) {
            System.arraycopy(encoded[i], 0, text, at, encoded[i].length);
            from[i] = at;
            at += encoded[i].length;
            to[i] = at;
        }
        return new FoldedLines(text, from, to, Arrays.copyOf(counts, n), n);
    }

    /**
     * Orders two byte ranges of UTF-8 text as {@link String#compareTo} orders their decoded text:
     * byte order, except that a supplementary character (4-byte sequence, UTF-16 surrogates)
     * sorts before one in U+E000..U+FFFF.
     */
    static int compare(byte[] t, int aFrom, int aTo, int bFrom, int bTo) {
        int m = Arrays.mismatch(t, aFrom, aTo, t, bFrom, bTo);
        if (m < 0) {
            return 0;
        }
        if (m == aTo - aFrom) {
            return -1;
        }
        if (m == bTo - bFrom) {
            return 1;
        }
        int x = t[aFrom + m] & 0xff;
        int y = t[bFrom + m] & 0xff;
        if (x >= 0xee && y >= 0xee && (x >= 0xf0) != (y >= 0xf0)) {
            return x >= 0xf0 ? -1 : 1;
        }
        return x - y;
    }

    /** The UTF-8 text all lines point into. Not a copy: do not modify. */
    public byte[] text() {
        return text;
    }

    /** Offset in {@link #text()} of line i's first byte. */
    public int from(int line) {
        return from[line];
    }

    /** Offset in {@link #text()} just after line i's stack. */
    public int to(int line) {
        return to[line];
    }

    /** Line i's count. */
    public long count(int line) {
        return counts[line];
    }

    /** Line i's stack text, decoded. */
    public String stack(int line) {
        return new String(text, from[line], to[line] - from[line], StandardCharsets.UTF_8);
    }

    /** A hash of text[from, to): equal bytes, equal hash. */
    public int hash(int from, int to) {
        byte[] t = text;
        int h = 1;
        for (int i = from; i < to; i++) {
            h = 31 * h + t[i];
        }
        return h ^ (h >>> 16);
    }

    /** Sum of all counts. */
    public long total() {
        long t = 0;
        for (int i = 0; i < size; i++) {
            t += counts[i];
        }
        return t;
    }

    /** A new cursor over these lines' frames. */
    public Cursor cursor() {
        return new Cursor(false);
    }

    /**
     * A new cursor that also hashes each frame name as it scans it ({@link Cursor#frameHash}, equal
     * to {@link #hash}), for callers that look names up: it saves a second pass over the bytes.
     */
    public Cursor hashingCursor() {
        return new Cursor(true);
    }

    /**
     * Splits lines into frames and tells how many leading frames a line shares with the line
     * visited before it. Sorted folded lines share long prefixes; the shared part is found with one
     * vectorised byte comparison and only the rest is scanned for {@code ;}. Frame offsets stay
     * valid until the next {@link #advance}.
     */
    public final class Cursor {
        // ends[k]: end of frame k relative to the line start; frame k starts at ends[k - 1] + 1 (0 for k = 0)
        private int[] ends = new int[64];
        private int depth;
        private int shared;
        private int lineFrom = -1;
        private int lineTo;
        private int[] hashes; // per frame, when hashing

        private Cursor(boolean hashing) {
            hashes = hashing ? new int[64] : null;
        }

        /** Moves to line i, comparing it with the line this cursor was on before (none at first). */
        public void advance(int line) {
            int s = from[line];
            int e = to[line];
            int len = e - s;
            int keep = 0;
            if (lineFrom >= 0) {
                int m = Arrays.mismatch(text, s, e, text, lineFrom, lineTo);
                if (m < 0) {
                    m = len;
                }
                // frame k is shared when it ends before the first difference, or exactly there
                // with a frame boundary in both lines
                while (keep < depth) {
                    int r = ends[keep];
                    if (r < m || (r == m && (m == len || text[s + m] == ';'))) {
                        keep++;
                    } else {
                        break;
                    }
                }
            }
            shared = keep;
            lineFrom = s;
            lineTo = e;
            if (keep > 0 && ends[keep - 1] == len) {
                depth = keep;
                return;
            }
            int d = keep;
            int at = keep == 0 ? s : s + ends[keep - 1] + 1;
            byte[] t = text;
            while (true) {
                int i = at;
                if (d == ends.length) {
                    ends = Arrays.copyOf(ends, d * 2);
                    hashes = hashes == null ? null : Arrays.copyOf(hashes, d * 2);
                }
                if (hashes == null) {
                    while (i < e && t[i] != ';') {
                        i++;
                    }
                } else {
                    int h = 1; // as hash(from, to)
                    byte c;
                    while (i < e && (c = t[i]) != ';') {
                        h = 31 * h + c;
                        i++;
                    }
                    hashes[d] = h ^ (h >>> 16);
                }
                ends[d++] = i - s;
                if (i >= e) {
                    break;
                }
                at = i + 1;
            }
            depth = d;
        }

        /** {@link FoldedLines#hash} of frame k's name (hashing cursors only). */
        public int frameHash(int k) {
            return hashes[k];
        }

        /** Frames of the current line. */
        public int depth() {
            return depth;
        }

        /** Leading frames equal to those of the previous line (0 for the first line). */
        public int shared() {
            return shared;
        }

        /** Offset in {@link #text()} of frame k's first byte. */
        public int frameFrom(int k) {
            return lineFrom + (k == 0 ? 0 : ends[k - 1] + 1);
        }

        /** Offset in {@link #text()} just after frame k's name. */
        public int frameTo(int k) {
            return lineFrom + ends[k];
        }
    }

    // ---- SortedMap view (keys decoded on demand) ----

    @Override
    public int size() {
        return size;
    }

    @Override
    public Long get(Object key) {
        int i = indexOf(key);
        return i < 0 ? null : counts[i];
    }

    @Override
    public boolean containsKey(Object key) {
        return indexOf(key) >= 0;
    }

    private int indexOf(Object key) {
        if (!(key instanceof String k)) {
            return -1;
        }
        int lo = 0;
        int hi = size - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = stack(mid).compareTo(k);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    @Override
    public Set<Map.Entry<String, Long>> entrySet() {
        return new AbstractSet<>() {
            @Override
            public Iterator<Map.Entry<String, Long>> iterator() {
                return new Iterator<>() {
                    private int i;

                    @Override
                    public boolean hasNext() {
                        return i < size;
                    }

                    @Override
                    public Map.Entry<String, Long> next() {
                        if (i >= size) {
                            throw new NoSuchElementException();
                        }
                        int at = i++;
                        return Map.entry(stack(at), counts[at]);
                    }
                };
            }

            @Override
            public int size() {
                return size;
            }
        };
    }

    @Override
    public Comparator<? super String> comparator() {
        return null;
    }

    @Override
    public SortedMap<String, Long> subMap(String fromKey, String toKey) {
        throw new UnsupportedOperationException("folded lines are read in order only");
    }

    @Override
    public SortedMap<String, Long> headMap(String toKey) {
        throw new UnsupportedOperationException("folded lines are read in order only");
    }

    @Override
    public SortedMap<String, Long> tailMap(String fromKey) {
        throw new UnsupportedOperationException("folded lines are read in order only");
    }

    @Override
    public String firstKey() {
        if (size == 0) {
            throw new NoSuchElementException();
        }
        return stack(0);
    }

    @Override
    public String lastKey() {
        if (size == 0) {
            throw new NoSuchElementException();
        }
        return stack(size - 1);
    }
}
