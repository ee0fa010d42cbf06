package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.engine.Tier;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * Chooses the buckets that cover a time range for one series in one partition, coarsest first:
 * every coarse bucket that lies inside the range and exists is read whole; the rest of the range
 * (the partial buckets at its edges, and coarse buckets not rolled up yet) is covered by the next
 * finer tier, recursively. A coarse bucket exists only once it is closed and complete (the ingest
 * rollup guarantees it), so each sample is read exactly once. Seven days read ~168 hourly buckets
 * plus at most an hour of minutes and a minute of 10 s buckets at the open end.
 *
 * <p>Edges older than the finer tier's retention cannot be refined; there the whole coarse bucket
 * overlapping the edge is read (the range is widened to it) rather than dropping its samples.
 */
final class BucketPlanner {

    /** Receives each chosen bucket. */
    interface Visitor {
        void bucket(long start, long sizeMillis, byte[] value);
    }

    private final List<Tier> tiers;
    private final List<ReadOnlyWindowStore<Bytes, byte[]>> stores;
    private final long nowMillis;
    private final QueryBudget budget = QueryBudget.current();

    BucketPlanner(List<Tier> tiers, List<ReadOnlyWindowStore<Bytes, byte[]>> stores, long nowMillis) {
        this.tiers = tiers;
        this.stores = stores;
        this.nowMillis = nowMillis;
    }

    /** Visits the buckets of series covering [from, to), reading tiers up to maxTier. */
    void visit(Bytes series, long from, long to, int maxTier, Visitor v) {
        visit(series, Math.min(maxTier, tiers.size() - 1), from, to, v);
    }

    private void visit(Bytes series, int tier, long a, long b, Visitor v) {
        if (a >= b) {
            return;
        }
        long size = tiers.get(tier).sizeMillis();
        if (tier == 0) {
            fetch(series, 0, a, b - 1, (start, s, value) -> v.bucket(start, s, value));
            return;
        }
        long innerA = Math.floorDiv(a + size - 1, size) * size;
        long innerB = Math.floorDiv(b, size) * size;
        if (innerA >= innerB) {
            edge(series, tier, a, b, v);
            return;
        }
        edge(series, tier, a, innerA, v);
        long[] cursor = {innerA};
        fetch(series, tier, innerA, innerB - 1, (start, s, value) -> {
            if (start > cursor[0]) {
                visit(series, tier - 1, cursor[0], start, v);
            }
            v.bucket(start, s, value);
            cursor[0] = start + s;
        });
        visit(series, tier - 1, cursor[0], innerB, v);
        edge(series, tier, innerB, b, v);
    }

    /** [a, b) lies within one coarse bucket of tier, not covering it whole. */
    private void edge(Bytes series, int tier, long a, long b, Visitor v) {
        if (a >= b) {
            return;
        }
        Tier finer = tiers.get(tier - 1);
        if (b > nowMillis - finer.retentionMillis()) {
            visit(series, tier - 1, a, b, v);
            return;
        }
        long start = tiers.get(tier).bucketStart(a);
        byte[] whole = stores.get(tier).fetch(series, start);
        if (whole != null) {
            v.bucket(start, tiers.get(tier).sizeMillis(), whole);
        } else {
            visit(series, tier - 1, a, b, v);
        }
    }

    private void fetch(Bytes series, int tier, long fromStart, long toStart, Visitor v) {
        long size = tiers.get(tier).sizeMillis();
        try (WindowStoreIterator<byte[]> it = stores.get(tier).fetch(series,
                java.time.Instant.ofEpochMilli(fromStart), java.time.Instant.ofEpochMilli(toStart))) {
            while (it.hasNext()) {
                budget.checkDeadline("reading the " + tiers.get(tier).name() + " buckets");
                KeyValue<Long, byte[]> kv = it.next();
                v.bucket(kv.key, size, kv.value);
            }
        }
    }
}
