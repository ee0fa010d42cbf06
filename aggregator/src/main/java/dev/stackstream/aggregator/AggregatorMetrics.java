package dev.stackstream.aggregator;

import dev.stackstream.aggregator.metrics.RollupLag;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * The aggregator's own meters, registered in the MeterRegistry it is given (the ops layer decides
 * where they are exported). Names follow Micrometer conventions ({@code stackstream.aggregator.*});
 * Prometheus sees them as {@code stackstream_aggregator_*}.
 */
public final class AggregatorMetrics {
    private final MeterRegistry registry;
    private final Counter batches;
    private final Counter entries;
    private final Counter samples;
    private final Counter replays;
    private final Counter rollups;
    private final RollupLag rollupLag;

    public AggregatorMetrics(MeterRegistry registry) {
        this(registry, Clock.systemUTC());
    }

    /** @param clock the clock rollups run on (the rollup lag gauge measures against it) */
    public AggregatorMetrics(MeterRegistry registry, Clock clock) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.rollupLag = new RollupLag(clock);
        rollupLag.bindTo(registry);
        batches = Counter.builder("stackstream.aggregator.records.consumed")
                .description("Sample batch records read from the samples topic, valid or not")
                .tag("topic", "samples").register(registry);
        entries = Counter.builder("stackstream.aggregator.entries.consumed")
                .description("Stack-count entries counted (replays excluded)").register(registry);
        samples = Counter.builder("stackstream.aggregator.samples.consumed")
                .description("Samples counted (sum of entry counts, replays excluded)").register(registry);
        replays = Counter.builder("stackstream.aggregator.replays.skipped")
                .description("Windows skipped because their collector id and sequence were already counted")
                .register(registry);
        rollups = Counter.builder("stackstream.aggregator.rollups")
                .description("Coarse-tier buckets written by the rollup").register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    public void batchConsumed() {
        batches.increment();
    }

    public void counted(long entryCount, long sampleCount) {
        entries.increment(entryCount);
        samples.increment(sampleCount);
    }

    public void replaySkipped() {
        replays.increment();
    }

    /**
     * A query plan read {@code n} series in one partition: {@code kind} is {@code pod} (the series a
     * collector's labels name) or {@code merged} (a pre-merged series); how many pods a service
     * has should show in the first, not in query cost.
     */
    public void seriesRead(String kind, int n) {
        Counter.builder("stackstream.aggregator.query.series.read")
                .description("Series a query plan read, per partition: pod series or pre-merged series")
                .tag("kind", kind).register(registry).increment(n);
    }

    /**
     * A query read {@code n} partitions from standby replicas held here, standing in for an owner
     * that did not answer (gone, or not yet replaced after a rebalance).
     */
    public void standbyPartitionsRead(int n) {
        Counter.builder("stackstream.aggregator.query.standby.partitions")
                .description("Partitions a query read from a caught-up standby replica instead of their lost owner")
                .register(registry).increment(n);
    }

    public void rolledUp(int buckets) {
        rollups.increment(buckets);
    }

    /** A task loaded or moved its rollup watermark for a tier (end of the newest closed bucket). */
    public void rollupWatermark(String tier, String task, long watermarkMillis) {
        rollupLag.watermark(tier, task, watermarkMillis);
    }

    /** A task left this instance: its rollup watermarks no longer count. */
    public void taskClosed(String task) {
        rollupLag.taskClosed(task);
    }

    /** A record sent to the dead-letter topic, by reason code. */
    public void deadLettered(String reason) {
        Counter.builder("stackstream.aggregator.dlq.records")
                .description("Records sent to the dead-letter topic, by reason")
                .tag("reason", reason).register(registry).increment();
    }

    /**
     * A record the aggregator wrote that Kafka did not take: {@code topic} is dead-letters,
     * changelog or output, {@code action} what was done (see ProductionErrorHandler).
     */
    public void productionError(String topic, String error, String action) {
        Counter.builder("stackstream.aggregator.production.errors")
                .description("Records the aggregator failed to write, by topic kind, error and action taken")
                .tag("topic", topic).tag("error", error).tag("action", action).register(registry).increment();
    }

    /** A window's write to a tier skipped because the bucket is older than the tier keeps. */
    public void tierSkipped(String tier) {
        Counter.builder("stackstream.aggregator.tier.writes.skipped")
                .description("Window writes not made to a tier because the bucket is older than its retention")
                .tag("tier", tier).register(registry).increment();
    }

    /** Entries of a bucket folded into [other] to keep it within the per-bucket entry limit. */
    public void bucketFolded(String tier, int entries) {
        Counter.builder("stackstream.aggregator.bucket.entries.folded")
                .description("Stack entries folded into [other] because a bucket reached its entry limit")
                .tag("tier", tier).register(registry).increment(entries);
    }

    /** A window of a new label set past its service's series limit, counted in the overflow series. */
    public void seriesFolded() {
        Counter.builder("stackstream.aggregator.series.folded")
                .description("Windows counted in their service's overflow series because the service reached"
                        + " its series limit").register(registry).increment();
    }

    /** A stack longer than the frame limit, shown with its leaf-most frames under [truncated] (query time). */
    public void stackTruncated() {
        Counter.builder("stackstream.aggregator.stacks.truncated")
                .description("Stack definitions cut to the frame limit at query time").register(registry).increment();
    }

    /** A stack definition whose id is not its key, or not its frames' hash (seen at query time). */
    public void forgedStackDefinition() {
        Counter.builder("stackstream.aggregator.stacks.forged")
                .description("Stack definitions refused because their id does not match their key")
                .register(registry).increment();
    }

    /** A stack definition in the dictionary that does not decode (seen at query time). */
    public void badStackDefinition() {
        Counter.builder("stackstream.aggregator.stacks.undecodable")
                .description("Stack definitions in the dictionary that do not decode; rendered as unknown stacks")
                .register(registry).increment();
    }

    /** Query latency per endpoint and outcome. */
    public void queryTime(String endpoint, int status, long nanos) {
        Timer.builder("stackstream.aggregator.query")
                .description("HTTP API request latency per endpoint")
                .tag("endpoint", endpoint).tag("status", Integer.toString(status))
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry).record(Duration.ofNanos(nanos));
    }
}
