package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.AggregatorMetrics;
import dev.stackstream.aggregator.engine.MergedSeries;
import dev.stackstream.aggregator.engine.Series;
import dev.stackstream.aggregator.engine.StackCounts;
import dev.stackstream.aggregator.engine.StoreNames;
import dev.stackstream.aggregator.engine.Tier;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.TaskMetadata;
import org.apache.kafka.streams.ThreadMetadata;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;

/**
 * Answers queries from the partitions this instance owns (active tasks only), partition by
 * partition: the rollup state is per partition, so each partition's buckets are planned on their
 * own and the sums are merged.
 */
public final class LocalQueries {
    private final KafkaStreams streams;
    private final String samplesTopic;
    private final List<Tier> tiers;
    private final MergedSeries merges;
    private final AggregatorMetrics metrics;
    private final Clock clock;

    public LocalQueries(KafkaStreams streams, String samplesTopic, List<Tier> tiers, Clock clock) {
        this(streams, samplesTopic, tiers, MergedSeries.serviceOnly(), null, clock);
    }

    /**
     * @param merges the merged series the ingest keeps (the same configuration as the topology's)
     * @param metrics where plans report the series they read, or null
     */
    public LocalQueries(KafkaStreams streams, String samplesTopic, List<Tier> tiers, MergedSeries merges,
                        AggregatorMetrics metrics, Clock clock) {
        this.streams = streams;
        this.samplesTopic = samplesTopic;
        this.tiers = tiers;
        this.merges = merges;
        this.metrics = metrics;
        this.clock = clock;
    }

    /** Samples-topic partitions whose active task runs here. */
    public TreeSet<Integer> localPartitions() {
        requireRunning();
        TreeSet<Integer> out = new TreeSet<>();
        for (ThreadMetadata t : streams.metadataForLocalThreads()) {
            for (TaskMetadata task : t.activeTasks()) {
                for (TopicPartition tp : task.topicPartitions()) {
                    if (tp.topic().equals(samplesTopic)) {
                        out.add(tp.partition());
                    }
                }
            }
        }
        return out;
    }

    private void requireRunning() {
        KafkaStreams.State state = streams.state();
        // REBALANCING too: cooperative rebalances keep tasks running, and every answer says which
        // partitions it covers, so a partition moving away is noticed, not silently missed.
        if (state != KafkaStreams.State.RUNNING && state != KafkaStreams.State.REBALANCING) {
            throw ApiException.unavailable("the aggregator is " + state + ", not RUNNING; retry shortly", null);
        }
    }

    /** Every series known on the local partitions, newest last-seen kept per id. */
    public List<Series.Stored> series() {
        return series(localPartitions(), false);
    }

    /** The same for the given partitions, active here or (with {@code standby}) standby replicas. */
    public List<Series.Stored> series(Set<Integer> partitions, boolean standby) {
        Map<Bytes, Series.Stored> out = new LinkedHashMap<>();
        for (int p : partitions) {
            for (KeyValue<Bytes, Series.Stored> kv : seriesOf(p, standby)) {
                out.merge(kv.key, kv.value, (a, b) -> a.lastSeenMillis() >= b.lastSeenMillis() ? a : b);
            }
        }
        return new ArrayList<>(out.values());
    }

    private List<KeyValue<Bytes, Series.Stored>> seriesOf(int partition) {
        return seriesOf(partition, false);
    }

    private List<KeyValue<Bytes, Series.Stored>> seriesOf(int partition, boolean standby) {
        List<KeyValue<Bytes, Series.Stored>> out = new ArrayList<>();
        try {
            ReadOnlyKeyValueStore<Bytes, byte[]> store = streams.store(parameters(StoreQueryParameters
                    .fromNameAndType(StoreNames.SERIES, QueryableStoreTypes.<Bytes, byte[]>keyValueStore())
                    .withPartition(partition), standby));
            try (KeyValueIterator<Bytes, byte[]> it = store.all()) {
                while (it.hasNext()) {
                    KeyValue<Bytes, byte[]> kv = it.next();
                    out.add(KeyValue.pair(kv.key, Series.decode(kv.value)));
                }
            }
        } catch (InvalidStateStoreException e) {
            throw ApiException.unavailable("partition " + partition + " is not queryable right now ("
                    + e.getMessage() + "); retry shortly", e);
        }
        return out;
    }

    /** The local part of a query's answer: every partition active here. */
    public PartialResult partial(QuerySpec spec) {
        return partial(spec, localPartitions(), false);
    }

    /**
     * The part of a query's answer held in the given partitions: active ones, or with
     * {@code standby} the standby replicas (see {@link CaughtUpStandbys}). The result names the
     * partitions it covers; a partition not active here (moved away meanwhile) is left out.
     */
    public PartialResult partial(QuerySpec spec, Set<Integer> partitions, boolean standby) {
        PartialResult result = new PartialResult();
        Predicate<String> threads = spec.selector().threadFilter();
        long now = clock.millis();
        QueryBudget budget = QueryBudget.current();
        Set<Integer> readable = standby ? partitions : new TreeSet<>(partitions);
        if (!standby) {
            readable.retainAll(localPartitions());
        } else if (metrics != null) {
            metrics.standbyPartitionsRead(readable.size());
        }
        for (int p : readable) {
            result.covered(p);
            List<KeyValue<Bytes, Series>> matching = new ArrayList<>();
            for (KeyValue<Bytes, Series.Stored> kv : seriesOf(p, standby)) {
                Series s = kv.value.series();
                if (!s.service().equals(spec.service())) {
                    continue;
                }
                result.markServiceKnown(s.type() + "/" + s.unit() + "/" + s.period());
                if ((spec.type() == null || spec.type().equals(s.type())) && spec.selector().matchesSeries(s)) {
                    matching.add(KeyValue.pair(kv.key, s));
                }
            }
            if (matching.isEmpty()) {
                continue;
            }
            result.seriesMatched(matching.size());
            BucketPlanner planner = new BucketPlanner(tiers, tierStores(p, standby), now);
            StackCounts counts = result.counts();
            BucketPlanner.Visitor add = (start, size, value) -> {
                long added = counts.mergeEncoded(value, threads);
                budget.checkEntries(counts.entries().size());
                if (added > 0) {
                    result.coverBucket(start, start + size);
                }
                if (spec.stepMillis() > 0) {
                    result.addTimeline(Math.floorDiv(start, spec.stepMillis()) * spec.stepMillis(), added);
                }
            };
            // Before the merge's cutover the pod series, from it on one merged series per type.
            String dimension = mergeDimension(spec.selector());
            long cut = Math.max(spec.fromMillis(), Math.min(spec.toMillis(), mergeSince(p, dimension, standby)));
            if (cut > spec.fromMillis()) {
                for (KeyValue<Bytes, Series> s : matching) {
                    planner.visit(s.key, spec.fromMillis(), cut, spec.maxTier(), add);
                }
                reported("pod", matching.size());
            }
            if (cut < spec.toMillis()) {
                Set<Bytes> mergedIds = mergedIds(matching, dimension);
                for (Bytes merged : mergedIds) {
                    planner.visit(merged, cut, spec.toMillis(), spec.maxTier(), add);
                }
                reported("merged", mergedIds.size());
            }
        }
        return result;
    }

    private void reported(String kind, int n) {
        if (metrics != null) {
            metrics.seriesRead(kind, n);
        }
    }

    /**
     * The merge that answers a selector exactly: the service merge when no matcher names a series
     * label ({@code thread} filters entries, which merges keep), the merge of label L when every
     * series matcher names L and L is a configured dimension, else none (null: pod series).
     */
    String mergeDimension(LabelSelector selector) {
        Set<String> names = new TreeSet<>();
        for (LabelSelector.Matcher m : selector.matchers()) {
            if (!m.name().equals(LabelSelector.THREAD)) {
                names.add(m.name());
            }
        }
        if (names.isEmpty()) {
            return MergedSeries.SERVICE;
        }
        return names.size() == 1 && merges.dimensions().contains(names.iterator().next()) ? names.iterator().next() : null;
    }

    private static Set<Bytes> mergedIds(List<KeyValue<Bytes, Series>> podSeries, String dimension) {
        Set<Bytes> out = new LinkedHashSet<>();
        for (KeyValue<Bytes, Series> s : podSeries) {
            out.add(MergedSeries.id(s.value, dimension));
        }
        return out;
    }

    /** Where a merge is complete from in one partition ({@link MergedSeries}); MAX_VALUE when it is not kept there. */
    private long mergeSince(int partition, String dimension, boolean standby) {
        if (dimension == null) {
            return Long.MAX_VALUE;
        }
        try {
            ReadOnlyKeyValueStore<Bytes, byte[]> store = streams.store(parameters(StoreQueryParameters
                    .fromNameAndType(StoreNames.ROLLUP, QueryableStoreTypes.<Bytes, byte[]>keyValueStore())
                    .withPartition(partition), standby));
            Long since = MergedSeries.decodeSince(store.get(MergedSeries.sinceKey(dimension)));
            return since == null ? Long.MAX_VALUE : since;
        } catch (InvalidStateStoreException e) {
            throw ApiException.unavailable("partition " + partition + " is not queryable right now ("
                    + e.getMessage() + "); retry shortly", e);
        }
    }

    /**
     * Sample totals of one service per tier over [fromMillis, toMillis) (buckets by start time),
     * each tier read on its own: an operator's check that rollups agree with the finest tier.
     */
    public Map<String, Long> tierTotals(String service, long fromMillis, long toMillis) {
        return tierTotals(service, fromMillis, toMillis, false);
    }

    /**
     * The same totals read from the service merge instead of the pod series: equal to
     * {@link #tierTotals} tier by tier when the merge is exact.
     */
    public Map<String, Long> mergedTierTotals(String service, long fromMillis, long toMillis) {
        return tierTotals(service, fromMillis, toMillis, true);
    }

    private Map<String, Long> tierTotals(String service, long fromMillis, long toMillis, boolean merged) {
        Map<String, Long> out = new LinkedHashMap<>();
        tiers.forEach(t -> out.put(t.name(), 0L));
        for (int p : localPartitions()) {
            List<ReadOnlyWindowStore<Bytes, byte[]>> stores = tierStores(p);
            Set<Bytes> keys = new LinkedHashSet<>();
            for (KeyValue<Bytes, Series.Stored> kv : seriesOf(p)) {
                if (kv.value.series().service().equals(service)) {
                    keys.add(merged ? MergedSeries.id(kv.value.series(), MergedSeries.SERVICE) : kv.key);
                }
            }
            for (Bytes key : keys) {
                for (int i = 0; i < tiers.size(); i++) {
                    long sum = 0;
                    try (var it = stores.get(i).fetch(key, java.time.Instant.ofEpochMilli(fromMillis),
                            java.time.Instant.ofEpochMilli(toMillis - 1))) {
                        while (it.hasNext()) {
                            sum += StackCounts.decode(it.next().value).total();
                        }
                    }
                    out.merge(tiers.get(i).name(), sum, Long::sum);
                }
            }
        }
        return out;
    }

    private static <T> StoreQueryParameters<T> parameters(StoreQueryParameters<T> active, boolean standby) {
        return standby ? active.enableStaleStores() : active;
    }

    private List<ReadOnlyWindowStore<Bytes, byte[]>> tierStores(int partition) {
        return tierStores(partition, false);
    }

    private List<ReadOnlyWindowStore<Bytes, byte[]>> tierStores(int partition, boolean standby) {
        List<ReadOnlyWindowStore<Bytes, byte[]>> out = new ArrayList<>();
        try {
            for (Tier t : tiers) {
                out.add(streams.store(parameters(StoreQueryParameters
                        .fromNameAndType(StoreNames.tier(t), QueryableStoreTypes.<Bytes, byte[]>windowStore())
                        .withPartition(partition), standby)));
            }
        } catch (InvalidStateStoreException e) {
            throw ApiException.unavailable("partition " + partition + " is not queryable right now ("
                    + e.getMessage() + "); retry shortly", e);
        }
        return out;
    }
}
