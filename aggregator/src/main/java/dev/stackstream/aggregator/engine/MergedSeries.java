package dev.stackstream.aggregator.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.common.utils.Bytes;

/**
 * The pre-merged series kept beside the pod series, so that a query over a whole service reads one
 * series per bucket and partition instead of one per pod.
 *
 * <p>Every window counted for a pod series is also added, in the same task and transaction and to
 * the same tiers (with the same rollup markers), to
 * <ul>
 *   <li>the <em>service merge</em>: the series with the pod's service and profile type and no labels;
 *   <li>one <em>dimension merge</em> per configured label name L: the same with only {@code L} (its
 *       value, or "" when the pod series lacks it).
 * </ul>
 * Replay dedup happens before both, so a merge is exactly the sum of the pod series it covers,
 * bucket by bucket (thread names stay on the entries, so a {@code thread} matcher still filters a
 * merge). Merged series are not in the series store (listings show pod series only); their ids are
 * hashed in their own domain ({@link Series#mergedId()}) so no label set a collector sends can
 * name one.
 *
 * <p><b>Since when a merge is complete</b>: a partition whose series store is empty when it first
 * counts with a merge dimension configured has the merge complete from the start; a partition that
 * already held pod series (an upgrade, or a dimension added later) records the first bucket start
 * from which every window was counted into the merge: {@link #cutover} aligned up to the coarsest
 * tier. Queries read the merge from there on and the pod series before it.
 */
public final class MergedSeries {
    /** The dimension name of the service merge. */
    public static final String SERVICE = "";
    /** Prefix of the per-dimension "complete since" records in the rollup-state store. */
    private static final byte SINCE_PREFIX = 0x7E;
    /** Stored "since" of a merge complete from the start. */
    public static final long ALWAYS = Long.MIN_VALUE;

    private final List<String> dimensions;

    /**
     * @param dimensions label names that get a merge of their own besides the service merge (may be
     *     empty; {@code thread} is not a series label and is refused)
     */
    public MergedSeries(List<String> dimensions) {
        for (String d : dimensions) {
            Objects.requireNonNull(d, "dimension");
            if (d.isBlank() || d.equals("thread")) {
                throw new IllegalArgumentException("a merge dimension is a series label name, not '" + d + "'");
            }
        }
        this.dimensions = List.copyOf(dimensions);
    }

    /** No dimension merges: the service merge only (the default). */
    public static MergedSeries serviceOnly() {
        return new MergedSeries(List.of());
    }

    /** The configured label dimensions (the service merge is always kept and not listed). */
    public List<String> dimensions() {
        return dimensions;
    }

    /** {@link #SERVICE} followed by the configured dimensions: every merge a window goes to. */
    public List<String> all() {
        List<String> out = new ArrayList<>(dimensions.size() + 1);
        out.add(SERVICE);
        out.addAll(dimensions);
        return out;
    }

    /** The id of the merge of {@code dimension} ({@link #SERVICE} or a label name) that pod series belongs to. */
    public static Bytes id(Series pod, String dimension) {
        Map<String, String> labels = dimension.equals(SERVICE) ? Map.of()
                : Map.of(dimension, pod.labels().getOrDefault(dimension, ""));
        return Bytes.wrap(Series.of(pod.service(), pod.type(), pod.unit(), pod.period(), labels).mergedId());
    }

    /** The rollup-state key holding since when the merge of {@code dimension} is complete. */
    public static Bytes sinceKey(String dimension) {
        byte[] name = dimension.getBytes(StandardCharsets.UTF_8);
        return Bytes.wrap(ByteBuffer.allocate(1 + name.length).put(SINCE_PREFIX).put(name).array());
    }

    public static byte[] encodeSince(long millis) {
        return ByteBuffer.allocate(8).putLong(millis).array();
    }

    /** A stored "since", or null when the merge was never started in this partition. */
    public static Long decodeSince(byte[] stored) {
        return stored == null || stored.length != 8 ? null : ByteBuffer.wrap(stored).getLong();
    }

    /**
     * The first bucket start from which a merge started now holds every window: windows dated up to
     * {@code maxSkewMillis} ahead may already have been counted without it, and the cut lies on a
     * bucket boundary of every tier so that neither side reads a bucket the other reads.
     */
    public static long cutover(long nowMillis, long maxSkewMillis, List<Tier> tiers) {
        long size = tiers.get(tiers.size() - 1).sizeMillis();
        return Math.floorDiv(nowMillis + maxSkewMillis + size - 1, size) * size;
    }
}
