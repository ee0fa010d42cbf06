package dev.stackstream.collector.metrics;

import dev.stackstream.collector.publish.PublishListener;
import dev.stackstream.collector.publish.WindowPublisher;
import dev.stackstream.profile.Profile;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * What happens to windows after sampling: their size, their trip to Kafka, and the bounded buffer
 * that holds them while the broker is away. The windowing loop and the publisher report events
 * here (pass {@code metrics.publishing()} as the {@link WindowPublisher}'s {@link PublishListener});
 * the buffer's fill is read from {@link WindowPublisher#stats()} at scrape time
 * ({@link #bindPublisher(WindowPublisher)}).
 *
 * <p>Meters:
 * <ul>
 *   <li>{@code stackstream.collector.window.stacks} — unique stacks per drained window (summary);</li>
 *   <li>{@code stackstream.collector.window.samples} — samples per drained window (summary);</li>
 *   <li>{@code stackstream.collector.windows} {outcome=published|dropped} — windows delivered to
 *       Kafka, and windows dropped (oldest first) because the buffer was full;</li>
 *   <li>{@code stackstream.collector.published} (bytes) — record bytes acknowledged by the broker;</li>
 *   <li>{@code stackstream.collector.publish.duration} — from handing a window to the producer
 *       until the broker acknowledged it (histogram), which includes time spent buffered while the
 *       broker was away;</li>
 *   <li>{@code stackstream.collector.buffer.used} / {@code .capacity} (bytes),
 *       {@code stackstream.collector.buffer.windows} — the buffer now;</li>
 *   <li>{@code stackstream.collector.buffer.dropped} (bytes) — bytes of dropped windows;</li>
 *   <li>{@code stackstream.collector.errors} {cause=...} — failed delivery attempts
 *       ({@code cause=publish}; the window stays buffered and is retried) and errors reported with
 *       {@link #error(String)}.</li>
 * </ul>
 */
public final class PublishingMetrics implements PublishListener {
    private final MeterRegistry registry;
    private final DistributionSummary windowStacks;
    private final DistributionSummary windowSamples;
    private final Counter published;
    private final Counter dropped;
    private final Counter publishedBytes;
    private final Counter droppedBytes;
    private final Timer publishDuration;
    private final Map<String, Counter> errors = new ConcurrentHashMap<>();

    PublishingMetrics(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        windowStacks = DistributionSummary.builder("stackstream.collector.window.stacks")
                .description("Unique stacks per window")
                .baseUnit("stacks")
                .register(registry);
        windowSamples = DistributionSummary.builder("stackstream.collector.window.samples")
                .description("Samples per window")
                .baseUnit("samples")
                .register(registry);
        published = Counter.builder("stackstream.collector.windows")
                .description("Windows by fate: published to Kafka, or dropped from a full buffer")
                .tag("outcome", "published")
                .register(registry);
        dropped = Counter.builder("stackstream.collector.windows")
                .description("Windows by fate: published to Kafka, or dropped from a full buffer")
                .tag("outcome", "dropped")
                .register(registry);
        publishedBytes = Counter.builder("stackstream.collector.published")
                .description("Record bytes (key + value) acknowledged by the broker")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
        droppedBytes = Counter.builder("stackstream.collector.buffer.dropped")
                .description("Bytes of windows dropped because the buffer was full")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
        publishDuration = Timer.builder("stackstream.collector.publish.duration")
                .description("From handing a window to the producer until the broker acknowledged it")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(5))
                .register(registry);
    }

    /** A window was drained from the sampler (before encoding). */
    public void windowDrained(Profile window) {
        windowStacks.record(window.uniqueStacks());
        windowSamples.record(window.totalCount());
    }

    /** A window (its sample batch and any new stack definitions) was acknowledged by the broker. */
    @Override
    public void windowPublished(long sequence, long bytes, Duration latency) {
        published.increment();
        publishedBytes.increment(bytes);
        publishDuration.record(latency);
    }

    /** The same as {@link #windowPublished(long, long, Duration)} without the sequence number. */
    public void windowPublished(long bytes, Duration latency) {
        windowPublished(-1, bytes, latency);
    }

    /** The buffer was full and dropped its oldest windows. */
    @Override
    public void windowsDropped(int windows, long bytes) {
        dropped.increment(windows);
        droppedBytes.increment(bytes);
    }

    /** A window or definition larger than a record may be was given up (counted by what). */
    @Override
    public void undeliverable(String what, long bytes) {
        Counter.builder("stackstream.collector.undeliverable")
                .description("Windows and stack definitions given up because they exceed the record size limit")
                .tag("record", what)
                .register(registry).increment();
    }

    /** A delivery attempt failed; the window stays buffered and is retried. */
    @Override
    public void deliveryFailed(Exception cause) {
        error("publish");
    }

    /** Exposes the publisher's buffer fill, read from {@link WindowPublisher#stats()} at each scrape. */
    public void bindPublisher(WindowPublisher publisher) {
        bindBuffer(publisher, p -> p.stats().bufferedBytes(), p -> p.stats().bufferedWindows(),
                publisher.stats().bufferCapacity());
    }

    /**
     * Exposes the buffer's fill, read at every scrape.
     *
     * @param buffer the buffer object (held weakly by Micrometer, so keep a reference)
     * @param usedBytes bytes the buffer holds now
     * @param heldWindows windows the buffer holds now
     * @param capacityBytes the bound
     */
    public <T> void bindBuffer(T buffer, ToDoubleFunction<T> usedBytes, ToDoubleFunction<T> heldWindows,
                               long capacityBytes) {
        Gauge.builder("stackstream.collector.buffer.used", buffer, usedBytes)
                .description("Bytes of windows waiting for the broker")
                .baseUnit(BaseUnits.BYTES)
                .strongReference(true)
                .register(registry);
        Gauge.builder("stackstream.collector.buffer.windows", buffer, heldWindows)
                .description("Windows waiting for the broker")
                .strongReference(true)
                .register(registry);
        Gauge.builder("stackstream.collector.buffer.capacity", () -> capacityBytes)
                .description("Bound of the window buffer")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
    }

    /**
     * Counts an error by cause: a short lower-case word such as {@code publish}, {@code drain},
     * {@code target-exited}, {@code attach}.
     */
    public void error(String cause) {
        errors.computeIfAbsent(cause, c -> Counter.builder("stackstream.collector.errors")
                .description("Errors by cause")
                .tag("cause", c)
                .register(registry)).increment();
    }
}
