package dev.stackstream.profile.render;

import dev.stackstream.profile.folded.FoldedLines;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SortedMap;

/**
 * The frames of a flame graph, laid out the way flamegraph.pl lays them out: folded lines in string
 * order, consecutive lines merged on their common prefix of frame names, each frame spanning
 * [start, end) in count units, a root frame ("all", depth 0) spanning everything. The same input
 * therefore gives the same frames, depths and widths as flamegraph.pl (including its quirk of not
 * merging equal prefixes that are not on consecutive lines).
 *
 * <p>Frames are held in parallel arrays, in pre-order (a parent before its children, siblings
 * left to right), so a graph with millions of frames stays compact.
 */
public final class FlameLayout {
    private final double minWidth;
    private int size;
    private String[] name = new String[1024];
    // until finish(), a frame's name is a region of the folded lines' UTF-8 text: most frames get
    // pruned, and not decoding a String for each of them saves millions of allocations
    private byte[] text;
    private int[] nameFrom = new int[1024];
    private int[] nameTo = new int[1024];
    private int[] depth = new int[1024];
    private int[] parent = new int[1024];
    private long[] start = new long[1024];
    private long[] end = new long[1024];
    private long[] delta = new long[1024];
    private long[] self = new long[1024];
    private boolean differential;
    private long total;
    private long maxDelta = 1;
    private int maxDepth;

    private FlameLayout(double minWidth) {
        this.minWidth = minWidth;
    }

    /** Layout of folded lines (stack text to count), which must iterate in string order. */
    public static FlameLayout of(SortedMap<String, Long> folded) {
        return of(folded, 0);
    }

    /**
     * As {@link #of(SortedMap)}, leaving out frames narrower than minWidth counts (and so their
     * children), as flamegraph.pl prunes frames under its minimum width. Pruning happens as each
     * frame closes, so frames that will never be drawn never accumulate: a 100k-stack input keeps
     * thousands of frames instead of millions.
     */
    public static FlameLayout of(SortedMap<String, Long> folded, double minWidth) {
        FoldedLines lines = FoldedLines.of(folded);
        FlameLayout l = new FlameLayout(minWidth);
        l.text = lines.text();
        l.begin();
        FoldedLines.Cursor cursor = lines.cursor();
        for (int i = 0; i < lines.size(); i++) {
            cursor.advance(i);
            l.flow(cursor, lines.count(i), 0, false);
        }
        l.finish();
        return l;
    }

    /**
     * Layout of a differential graph (flamegraph.pl with two count columns): widths from the
     * comparison counts, each frame's delta the comparison minus baseline of the lines ending at it.
     * Stacks absent from the comparison have no width and make no frame, but their (negative)
     * delta counts towards {@link #maxDelta()}.
     *
     * @param folded stack text to {baseline, comparison}, in string order
     */
    public static FlameLayout differential(SortedMap<String, long[]> folded) {
        return differential(folded, 0);
    }

    /** As {@link #differential(SortedMap)}, pruning frames narrower than minWidth counts. */
    public static FlameLayout differential(SortedMap<String, long[]> folded, double minWidth) {
        long[] comparison = new long[folded.size()];
        long[] deltas = new long[folded.size()];
        int n = 0;
        for (long[] v : folded.values()) {
            comparison[n] = v[1];
            deltas[n++] = v[1] - v[0];
        }
        FoldedLines lines = FoldedLines.of(folded.keySet(), comparison);
        FlameLayout l = new FlameLayout(minWidth);
        l.differential = true;
        l.text = lines.text();
        l.begin();
        FoldedLines.Cursor cursor = lines.cursor();
        for (int i = 0; i < n; i++) {
            l.maxDelta = Math.max(l.maxDelta, Math.abs(deltas[i]));
            if (comparison[i] > 0) {
                // a stack only in the baseline has no width here; flamegraph.pl makes it a
                // zero-width frame, which can collide with (and erase) a real frame of the same
                // name, depth and end: leave it out, its delta still sets the colour scale
                cursor.advance(i);
                l.flow(cursor, comparison[i], deltas[i], true);
            }
        }
        l.finish();
        return l;
    }

    // open frames (the last line's), by depth: index into the arrays
    private int[] open = new int[64];
    private int openDepth;

    private void begin() {
        int root = add(0, 0, 0, -1, 0);
        open[0] = root;
        openDepth = 1;
    }

    /**
     * One folded line: frames it shares with the previous line (flamegraph.pl compares with the
     * previous line only) extend the open frames, the previous line's deeper frames close, and
     * the rest open as new frames.
     */
    private void flow(FoldedLines.Cursor line, long count, long d, boolean hasDelta) {
        int depth = line.depth();
        int same = line.shared() + 1; // open levels kept: the root plus the shared frames
        closeFrom(same);
        ensureOpen(depth + 1);
        for (int k = same - 1; k < depth; k++) {
            int level = k + 1;
            open[level] = add(line.frameFrom(k), line.frameTo(k), level, open[level - 1], total);
        }
        openDepth = depth + 1;
        int leaf = open[depth];
        self[leaf] += count;
        if (hasDelta) {
            delta[leaf] += d;
        }
        total += count;
    }

    private void closeFrom(int level) {
        for (int i = openDepth - 1; i >= level; i--) {
            int node = open[i];
            end[node] = total;
            if (node > 0 && total - start[node] < minWidth) {
                // too narrow to draw: it is the most recently opened subtree, the last in the
                // arrays, so dropping it and its descendants is a truncation
                size = node;
            }
        }
    }

    private void ensureOpen(int capacity) {
        if (capacity > open.length) {
            open = Arrays.copyOf(open, capacity * 2);
        }
    }

    private void finish() {
        closeFrom(0);
        end[0] = total;
        for (int i = 0; i < size; i++) {
            maxDepth = Math.max(maxDepth, depth[i]);
            name[i] = new String(text, nameFrom[i], nameTo[i] - nameFrom[i], StandardCharsets.UTF_8);
        }
    }

    private int add(int from, int to, int d, int parentIndex, long s) {
        if (size == name.length) {
            int cap = size * 2;
            name = Arrays.copyOf(name, cap);
            nameFrom = Arrays.copyOf(nameFrom, cap);
            nameTo = Arrays.copyOf(nameTo, cap);
            depth = Arrays.copyOf(depth, cap);
            parent = Arrays.copyOf(parent, cap);
            start = Arrays.copyOf(start, cap);
            end = Arrays.copyOf(end, cap);
            delta = Arrays.copyOf(delta, cap);
            self = Arrays.copyOf(self, cap);
        }
        nameFrom[size] = from;
        nameTo[size] = to;
        depth[size] = d;
        parent[size] = parentIndex;
        start[size] = s;
        end[size] = s;
        self[size] = 0;
        delta[size] = 0;
        return size++;
    }

    /** Number of frames, the root included. */
    public int size() {
        return size;
    }

    /** Sum of all counts: the root frame's width. */
    public long total() {
        return total;
    }

    /** Deepest frame's depth (the root is depth 0). */
    public int maxDepth() {
        return maxDepth;
    }

    public boolean isDifferential() {
        return differential;
    }

    /** Largest absolute line delta, at least 1 (the colour scale's maximum). */
    public long maxDelta() {
        return maxDelta;
    }

    /** The frame's name as folded (kind suffix included); "" for the root. */
    public String name(int frame) {
        return name[frame];
    }

    public int depth(int frame) {
        return depth[frame];
    }

    /** Index of the parent frame, -1 for the root. */
    public int parent(int frame) {
        return parent[frame];
    }

    public long start(int frame) {
        return start[frame];
    }

    public long end(int frame) {
        return end[frame];
    }

    /** end - start: the samples in this frame and its children. */
    public long width(int frame) {
        return end[frame] - start[frame];
    }

    /** Samples of lines ending at this frame (the frame was the leaf). */
    public long self(int frame) {
        return self[frame];
    }

    /** For differential layouts: comparison minus baseline of the lines ending here. */
    public long delta(int frame) {
        return delta[frame];
    }
}
