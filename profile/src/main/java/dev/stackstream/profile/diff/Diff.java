package dev.stackstream.profile.diff;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.folded.FoldedStacks;
import dev.stackstream.profile.render.RenderOptions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Two profiles compared stack by stack, with FlameGraph's difffolded.pl semantics: every stack of
 * either profile with its baseline and comparison count (0 where absent). With normalisation
 * ({@link RenderOptions#normalize()}), baseline counts are scaled to the comparison's total first,
 * truncated to whole samples as difffolded.pl {@code -n} does, so a profile taken over a longer
 * time does not look like growth everywhere. Stacks are compared by their folded text (threads and
 * reversal as the options ask). Immutable.
 */
public final class Diff {
    /**
     * One stack's counts.
     *
     * @param stack folded stack text, root first
     * @param baseline count in the baseline (after normalisation, when asked)
     * @param comparison count in the comparison
     */
    public record Entry(String stack, long baseline, long comparison) {
        /** comparison - baseline. */
        public long delta() {
            return comparison - baseline;
        }
    }

    private final SortedMap<String, long[]> lines;
    private final long baselineTotal;
    private final long comparisonTotal;
    private final boolean normalized;

    private Diff(SortedMap<String, long[]> lines, long baselineTotal, long comparisonTotal, boolean normalized) {
        this.lines = lines;
        this.baselineTotal = baselineTotal;
        this.comparisonTotal = comparisonTotal;
        this.normalized = normalized;
    }

    /** Compares with default options (threads merged, not normalised). */
    public static Diff of(Profile baseline, Profile comparison) {
        return of(baseline, comparison, RenderOptions.defaults());
    }

    /** Compares; options decide thread roots, reversal and normalisation. */
    public static Diff of(Profile baseline, Profile comparison, RenderOptions options) {
        return of(FoldedStacks.of(baseline, options), FoldedStacks.of(comparison, options), options.normalize());
    }

    /** Compares folded lines (stack text to count). */
    public static Diff of(Map<String, Long> baseline, Map<String, Long> comparison, boolean normalize) {
        TreeMap<String, long[]> lines = new TreeMap<>();
        long t1 = 0;
        long t2 = 0;
        for (Map.Entry<String, Long> e : baseline.entrySet()) {
            lines.computeIfAbsent(e.getKey(), k -> new long[2])[0] += e.getValue();
            t1 += e.getValue();
        }
        for (Map.Entry<String, Long> e : comparison.entrySet()) {
            lines.computeIfAbsent(e.getKey(), k -> new long[2])[1] += e.getValue();
            t2 += e.getValue();
        }
        boolean scale = normalize && t1 != t2 && t1 > 0;
        if (scale) {
            for (long[] v : lines.values()) {
                // integer arithmetic in 128 bits would be exact; double is exact up to 2^53 samples
                v[0] = (long) Math.floor(v[0] * (double) t2 / t1);
            }
        }
        return new Diff(Collections.unmodifiableSortedMap(lines), t1, t2, scale);
    }

    /** Stack text to {baseline, comparison}, in string order (flamegraph.pl's two-column input). */
    public SortedMap<String, long[]> lines() {
        return lines;
    }

    /** Every stack, in string order. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>(lines.size());
        lines.forEach((k, v) -> out.add(new Entry(k, v[0], v[1])));
        return out;
    }

    /** The baseline's total before normalisation. */
    public long baselineTotal() {
        return baselineTotal;
    }

    public long comparisonTotal() {
        return comparisonTotal;
    }

    /** Whether baseline counts were scaled to the comparison's total. */
    public boolean normalized() {
        return normalized;
    }
}
