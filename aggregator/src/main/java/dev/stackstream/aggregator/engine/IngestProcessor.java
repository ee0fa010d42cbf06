package dev.stackstream.aggregator.engine;

import dev.stackstream.aggregator.AggregatorMetrics;
import dev.stackstream.profile.StackId;
import dev.stackstream.wire.Bindings;
import dev.stackstream.profile.ProfileStats;
import dev.stackstream.wire.WindowContext;
import dev.stackstream.wire.WireModel;
import dev.stackstream.wire.WireWindow;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ingest step, one instance per samples-topic partition (task). For each record: decode (or
 * dead-letter it, with the reason in a header, and go on), drop a replayed window (same collector id
 * and sequence), then add the window's counts to its series' finest bucket and either to the closed
 * coarser buckets directly or mark the open ones for rollup. Every store write and the DLQ record
 * belong to the task's Kafka transaction, so a crash never counts a window twice or loses one.
 *
 * <p>Rollup: each coarse tier has a watermark (stored); buckets ending at or before it are closed.
 * When wall-clock time minus the grace period passes a coarse bucket's end, the marked buckets are
 * summed from the tier below, written, and the watermark moves. A query reads a coarse bucket when
 * it exists and the finer tier otherwise, so no bucket is read twice and nothing waits for a rollup.
 */
public final class IngestProcessor implements Processor<byte[], byte[], byte[], byte[]> {
    private static final Logger LOG = LoggerFactory.getLogger(IngestProcessor.class);
    static final byte[] MARK = {1};
    private static final byte WATERMARK_PREFIX = 0x7F;
    private static final Duration CLEANUP_INTERVAL = Duration.ofMinutes(10);
    /** The series store's last-seen time is refreshed at most this often per series (a write per batch is waste). */
    private static final long SERIES_TOUCH_MILLIS = 60_000;

    private final List<Tier> tiers;
    private final Duration grace;
    private final Duration rollupInterval;
    private final Duration dedupRetention;
    private final IngestLimits limits;
    /** Series per service in this task's series store (see IngestLimits#maxSeriesPerService). */
    private final Map<String, Integer> seriesPerService = new HashMap<>();
    private final MergedSeries merges;
    private final Clock clock;
    private final AggregatorMetrics metrics;

    private ProcessorContext<byte[], byte[]> context;
    private RefusedDeadLetters refused;
    /** What the dead-letter topic and each tier's changelog take (read from the broker at start). */
    private RecordLimits recordLimits;
    /** Per tier: the largest encoded bucket its changelog takes. */
    private int[] bucketBytes;
    private KeyValueStore<Bytes, byte[]> sequences;
    private KeyValueStore<Bytes, byte[]> series;
    private KeyValueStore<Bytes, byte[]> rollupState;
    private CollectorIndexStore collectorIndex;
    private final List<WindowStore<Bytes, byte[]>> tierStores = new ArrayList<>();
    private long[] watermarks;
    private long nextRollupAt;
    private String task;
    /** Per merge ({@link MergedSeries#all()} order): whether its "complete since" is recorded here. */
    private boolean mergesStarted;

    public IngestProcessor(List<Tier> tiers, Duration grace, Duration rollupInterval, Duration dedupRetention,
                           IngestLimits limits, Clock clock, AggregatorMetrics metrics) {
        this(tiers, grace, rollupInterval, dedupRetention, limits, MergedSeries.serviceOnly(), clock, metrics);
    }

    /** With the merged series to keep beside the pod series ({@link MergedSeries}). */
    public IngestProcessor(List<Tier> tiers, Duration grace, Duration rollupInterval, Duration dedupRetention,
                           IngestLimits limits, MergedSeries merges, Clock clock, AggregatorMetrics metrics) {
        this.limits = limits;
        this.merges = merges;
        this.tiers = List.copyOf(tiers);
        this.grace = grace;
        this.rollupInterval = rollupInterval;
        this.dedupRetention = dedupRetention;
        this.clock = clock;
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
        refused = RefusedDeadLetters.from(context.appConfigs());
        recordLimits = RecordLimits.from(context.appConfigs());
        bucketBytes = tiers.stream().mapToInt(t -> recordLimits.bucketBytes(StoreNames.tier(t))).toArray();
        sequences = context.getStateStore(StoreNames.SEQUENCES);
        series = context.getStateStore(StoreNames.SERIES);
        rollupState = context.getStateStore(StoreNames.ROLLUP);
        collectorIndex = new CollectorIndexStore(context.getStateStore(StoreNames.COLLECTOR_INDEX));
        tierStores.clear();
        for (Tier t : tiers) {
            tierStores.add(context.getStateStore(StoreNames.tier(t)));
        }
        watermarks = new long[tiers.size()];
        mergesStarted = false;
        task = context.taskId().toString();
        // init runs once the task's stores are restored: the count is rebuilt from the series store.
        seriesPerService.clear();
        try (KeyValueIterator<Bytes, byte[]> it = series.all()) {
            while (it.hasNext()) {
                seriesPerService.merge(Series.decode(it.next().value).series().service(), 1, Integer::sum);
            }
        }
        long now = clock.millis();
        for (int i = 1; i < tiers.size(); i++) {
            byte[] stored = rollupState.get(watermarkKey(i));
            // A new task starts with every bucket that ended before (now - grace) closed: data that old
            // goes straight into every tier, so a backfill never waits on (or outlives) the finer tier.
            watermarks[i] = stored != null ? ByteBuffer.wrap(stored).getLong()
                    : tiers.get(i).bucketStart(now - grace.toMillis());
            metrics.rollupWatermark(tiers.get(i).name(), task, watermarks[i]);
        }
        nextRollupAt = now;
        context.schedule(rollupInterval, PunctuationType.WALL_CLOCK_TIME, ts -> rollup());
        context.schedule(CLEANUP_INTERVAL, PunctuationType.WALL_CLOCK_TIME, ts -> cleanup());
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        metrics.batchConsumed();
        long now = clock.millis();
        if (now >= nextRollupAt) {
            rollup();
        }
        if (!refused.isEmpty() && replacedByStub(record)) {
            return;
        }
        WireWindow batch;
        try {
            batch = WireDecoding.batch(record.value());
        } catch (UndecodableRecordException e) {
            deadLetter(record, e);
            return;
        }
        try {
            // Before the context is remembered: a refused window leaves no state behind.
            WindowAdmission.check(batch, record.key(), now, now - seriesRetention(), limits);
        } catch (UndecodableRecordException e) {
            deadLetter(record, e);
            return;
        }
        Bindings bindings = collectorIndex.collector(batch.collectorId(), now);
        if (!batch.restoreContext(bindings)) {
            // Left out, and no window of this collector that carried it was seen (the aggregator
            // started mid-run after retention): kept in the dead-letter topic to replay, not guessed.
            deadLetter(record, new UndecodableRecordException("context-unknown", "window " + batch.sequence()
                    + " of collector " + batch.collectorId() + " leaves out service and labels, and no earlier"
                    + " window of that collector carried them (the collector repeats them every "
                    + "60 windows)", null));
            return;
        }
        Bytes collectorKey = Bytes.wrap(batch.collectorId().getBytes(StandardCharsets.UTF_8));
        SequenceTracker tracker = SequenceTracker.decode(sequences.get(collectorKey));
        if (!tracker.accept(batch.sequence(), now)) {
            metrics.replaySkipped();
            return;
        }
        sequences.put(collectorKey, tracker.encode());

        WindowContext c = batch.context();
        Series s = Series.of(c.service(), c.typeName(), c.typeUnit(), c.typePeriod(), c.labels());
        byte[] id = s.id();
        Bytes idKey = Bytes.wrap(id);
        startMerges();
        byte[] known = series.get(idKey);
        if (known == null && seriesPerService.getOrDefault(s.service(), 0) >= limits.maxSeriesPerService()) {
            // A new label set past the service's limit: counted in its overflow series instead.
            s = Series.of(s.service(), s.type(), s.unit(), s.period(),
                    Map.of(IngestLimits.OVERFLOW_LABEL, IngestLimits.OVERFLOW_VALUE));
            id = s.id();
            idKey = Bytes.wrap(id);
            known = series.get(idKey);
            metrics.seriesFolded();
        }
        if (known == null) {
            seriesPerService.merge(s.service(), 1, Integer::sum);
        }
        if (known == null || Series.decode(known).lastSeenMillis() < now - SERIES_TOUCH_MILLIS) {
            series.put(idKey, s.encode(now));
        }

        // v2: the window's bindings first (it may define what it uses), then v1 and compact entries.
        EntryTally tally = new EntryTally();
        int unbound = batch.forEachEntry(bindings, tally);
        if (unbound > 0) {
            // Never bound (bindings lost with an expired collector, or a foreign writer): the
            // samples still count, under the all-zero id that renders as an unknown stack.
            LOG.warn("window {} of collector {} uses {} stack index(es) that were never bound; counted as an"
                    + " unknown stack", batch.sequence(), batch.collectorId(), unbound);
        }
        StackCounts counts = tally.counts;
        ProfileStats st = batch.stats();
        counts.addWindow(st.lost(), st.throttled(), st.tableOverflow(), st.truncatedStacks(),
                st.targetCpuNanos().orElse(-1), st.targetMaxRssBytes().orElse(-1), st.instructions().orElse(-1));

        long windowStart = batch.windowStart().toEpochMilli();
        count(idKey, windowStart, counts, now);
        for (String dimension : merges.all()) {
            count(MergedSeries.id(s, dimension), windowStart, counts, now);
        }
        metrics.counted(tally.entries, tally.samples);
    }

    /** Adds a window's counts to one series' buckets: the finest directly, coarser ones closed or marked for rollup. */
    private void count(Bytes seriesKey, long windowStart, StackCounts counts, long now) {
        for (int i = 0; i < tiers.size(); i++) {
            Tier t = tiers.get(i);
            long start = t.bucketStart(windowStart);
            if (start + t.retentionMillis() < now) {
                // Older than this tier keeps: its store would drop the write without a word, and
                // a coarser tier still holds the window (admission refused windows no tier keeps).
                metrics.tierSkipped(t.name());
            } else if (i == 0 || start + t.sizeMillis() <= watermarks[i]) {
                addTo(i, seriesKey, start, counts);     // closed bucket: late data goes in directly
            } else {
                rollupState.put(Bytes.wrap(pendingKey(i, start, seriesKey.get())), MARK);
            }
        }
    }

    /**
     * Records, before the first window this task counts, since when each merge is complete here
     * (see {@link MergedSeries}): always, when the partition holds no pod series yet; otherwise
     * from the cutover on (windows counted earlier are in the pod series only).
     */
    private void startMerges() {
        if (mergesStarted) {
            return;
        }
        boolean fresh;
        try (KeyValueIterator<Bytes, byte[]> it = series.all()) {
            fresh = !it.hasNext();
        }
        for (String dimension : merges.all()) {
            Bytes key = MergedSeries.sinceKey(dimension);
            if (MergedSeries.decodeSince(rollupState.get(key)) == null) {
                long since = fresh ? MergedSeries.ALWAYS
                        : MergedSeries.cutover(clock.millis(), limits.maxClockSkew().toMillis(), tiers);
                rollupState.put(key, MergedSeries.encodeSince(since));
                LOG.info("task {}: merge '{}' complete {}", task, dimension.isEmpty() ? "service" : dimension,
                        since == MergedSeries.ALWAYS ? "from the start" : "from " + java.time.Instant.ofEpochMilli(since));
            }
        }
        mergesStarted = true;
    }

    /** A window's resolved entries summed per (stack, thread), with the entry and sample totals for the metrics. */
    private static final class EntryTally implements WireModel.EntryConsumer {
        final StackCounts counts = new StackCounts();
        int entries;
        long samples;

        @Override
        public void accept(StackId stack, String thread, long count, long instructions) {
            counts.add(stack.high(), stack.low(), thread, count, instructions);
            entries++;
            samples = StackCounts.plus(samples, count);
        }
    }

    private void addTo(int tier, Bytes key, long bucketStart, StackCounts counts) {
        WindowStore<Bytes, byte[]> store = tierStores.get(tier);
        byte[] existing = store.fetch(key, bucketStart);
        StackCounts merged = counts;
        if (existing != null) {
            merged = StackCounts.decode(existing);
            merged.merge(counts, null);
        }
        // Bounded so that no bucket (and no changelog record) outgrows its changelog's record limit:
        // a refused changelog record stops the client (ProductionErrorHandler). Encoded first, as
        // almost every bucket fits: the exact size costs nothing more than the write needs anyway.
        byte[] stored = merged.encode();
        if (merged.entries().size() > limits.maxEntriesPerBucket() || stored.length > bucketBytes[tier]) {
            if (merged == counts) {
                // The window's counts go to the other tiers and the merged series too: fold a copy.
                merged = new StackCounts();
                merged.merge(counts, null);
            }
            int folded = merged.foldToFit(limits.maxEntriesPerBucket(), bucketBytes[tier]);
            if (folded > 0) {
                metrics.bucketFolded(tiers.get(tier).name(), folded);
                stored = merged.encode();
            }
        }
        store.put(key, stored, bucketStart);
    }

    /**
     * True when this record's dead letter was refused by the dead-letter topic (RefusedDeadLetters):
     * this replay writes a stub with no value and none of its headers in its place, or nothing.
     */
    private boolean replacedByStub(Record<byte[], byte[]> record) {
        String source = source();
        RefusedDeadLetters.Refusal r = refused.of(source);
        if (r == null) {
            return false;
        }
        if (r.outcome() == RefusedDeadLetters.Outcome.DROP) {
            LOG.error("record {} dropped: {}, and so was the stub written in its place; it is still at its source"
                    + " offset", source, r.message());
            metrics.deadLettered("dropped");
            return true;
        }
        LOG.warn("record {}: {}; a stub goes to the dead-letter topic instead", source, r.message());
        DeadLetters.Letter stub = DeadLetters.of(null, null, RefusedDeadLetters.STUB_REASON, r.message(), source);
        // The key too may be what made it too large: kept only when small.
        byte[] key = record.key() != null && record.key().length <= 1024 ? record.key() : null;
        context.forward(new Record<>(key, stub.value(), record.timestamp(), stub.headers()));
        metrics.deadLettered(RefusedDeadLetters.STUB_REASON);
        return true;
    }

    /** Where the record being processed was read: {@code topic-partition@offset} (DeadLetters#SOURCE_HEADER). */
    private String source() {
        return context.recordMetadata().map(m -> m.topic() + "-" + m.partition() + "@" + m.offset()).orElse("unknown");
    }

    private void deadLetter(Record<byte[], byte[]> record, UndecodableRecordException e) {
        String source = source();
        LOG.warn("dead-lettering record {}: {}: {}", source, e.reason(), e.getMessage());
        DeadLetters.Letter letter = DeadLetters.of(record.key(), record.value(), record.headers(), e.reason(),
                e.getMessage(), source, recordLimits.deadLetterBytes());
        context.forward(new Record<>(record.key(), letter.value(), record.timestamp(), letter.headers()));
        metrics.deadLettered(e.reason());
    }

    /** Rolls up every coarse bucket that closed since the last run, finest coarse tier first. */
    private void rollup() {
        long now = clock.millis();
        nextRollupAt = now + rollupInterval.toMillis();
        int written = 0;
        for (int i = 1; i < tiers.size(); i++) {
            Tier t = tiers.get(i);
            long closeUntil = t.bucketStart(now - grace.toMillis());
            if (closeUntil <= watermarks[i]) {
                continue;
            }
            List<byte[]> due = new ArrayList<>();
            try (KeyValueIterator<Bytes, byte[]> it = rollupState.range(
                    Bytes.wrap(pendingKey(i, 0, new byte[16])), Bytes.wrap(pendingKey(i, closeUntil - 1, ALL_ONES)))) {
                while (it.hasNext()) {
                    due.add(it.next().key.get());
                }
            }
            for (byte[] k : due) {
                long start = ByteBuffer.wrap(k, 1, 8).getLong();
                Bytes idKey = Bytes.wrap(Arrays.copyOfRange(k, 9, 25));
                StackCounts sum = new StackCounts();
                try (WindowStoreIterator<byte[]> it = tierStores.get(i - 1).fetch(idKey, start,
                        start + t.sizeMillis() - 1)) {
                    while (it.hasNext()) {
                        KeyValue<Long, byte[]> kv = it.next();
                        sum.mergeEncoded(kv.value, null);
                    }
                }
                if (!sum.isEmpty()) {
                    addTo(i, idKey, start, sum);
                    written++;
                }
                rollupState.delete(Bytes.wrap(k));
            }
            watermarks[i] = closeUntil;
            rollupState.put(watermarkKey(i), ByteBuffer.allocate(8).putLong(closeUntil).array());
            metrics.rollupWatermark(t.name(), task, closeUntil);
        }
        if (written > 0) {
            metrics.rolledUp(written);
        }
    }

    private static final byte[] ALL_ONES = new byte[16];

    static {
        Arrays.fill(ALL_ONES, (byte) 0xFF);
    }

    /** Forgets collectors and series that have been silent longer than their retention. */
    private void cleanup() {
        long now = clock.millis();
        long seqHorizon = now - dedupRetention.toMillis();
        List<Bytes> stale = new ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> it = sequences.all()) {
            while (it.hasNext()) {
                KeyValue<Bytes, byte[]> kv = it.next();
                if (SequenceTracker.decode(kv.value).lastSeenMillis() < seqHorizon) {
                    stale.add(kv.key);
                }
            }
        }
        stale.forEach(sequences::delete);
        long seriesHorizon = now - seriesRetention();
        List<Bytes> gone = new ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> it = series.all()) {
            while (it.hasNext()) {
                KeyValue<Bytes, byte[]> kv = it.next();
                Series.Stored stored = Series.decode(kv.value);
                if (stored.lastSeenMillis() < seriesHorizon) {
                    gone.add(kv.key);
                    seriesPerService.computeIfPresent(stored.series().service(), (k, n) -> n > 1 ? n - 1 : null);
                }
            }
        }
        gone.forEach(series::delete);
        int indexes = collectorIndex.expire(now - Math.max(dedupRetention.toMillis(), seriesRetention()));
        if (!stale.isEmpty() || !gone.isEmpty() || indexes > 0) {
            LOG.info("forgot {} silent collectors, {} expired series and the stack indexes of {} collectors",
                    stale.size(), gone.size(), indexes);
        }
    }

    private long seriesRetention() {
        return tiers.get(tiers.size() - 1).retentionMillis();
    }

    @Override
    public void close() {
        if (task != null) {
            metrics.taskClosed(task);
        }
    }

    static byte[] pendingKey(int tier, long bucketStart, byte[] seriesId) {
        return ByteBuffer.allocate(25).put((byte) tier).putLong(bucketStart).put(seriesId).array();
    }

    static Bytes watermarkKey(int tier) {
        return Bytes.wrap(new byte[] {WATERMARK_PREFIX, (byte) tier});
    }
}
