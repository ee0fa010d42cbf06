package dev.stackstream.aggregator.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How far each rollup tier trails the wall clock: {@code stackstream.aggregator.rollup.lag} {tier}
 * (seconds) = now − the oldest rollup watermark of that tier over this instance's tasks.
 *
 * <p>A coarse tier's watermark is the end of its newest closed (rolled-up) bucket; the engine moves it
 * when wall-clock time minus the rollup grace passes a bucket's end. In steady state the lag
 * therefore stays between {@code grace} and {@code grace + tier size}; a lag that keeps growing
 * means rollups stopped (a stuck task, a stream thread that died). The engine reports every
 * watermark it loads or moves through {@link #watermark(String, String, long)}.
 */
public final class RollupLag implements MeterBinder {
    private final Clock clock;
    /** tier -> task -> watermark (epoch ms). */
    private final Map<String, Map<String, Long>> watermarks = new ConcurrentHashMap<>();
    private volatile MeterRegistry registry;

    public RollupLag(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        this.registry = registry;
        watermarks.keySet().forEach(this::register);
    }

    /**
     * A task's watermark for a tier was loaded or moved.
     *
     * @param tier the tier's name, e.g. {@code 1m}
     * @param task the Kafka Streams task id (one per partition)
     * @param watermarkMillis end of the tier's newest closed bucket, epoch milliseconds
     */
    public void watermark(String tier, String task, long watermarkMillis) {
        boolean[] added = {false};
        watermarks.computeIfAbsent(tier, t -> {
            added[0] = true;
            return new ConcurrentHashMap<>();
        }).put(task, watermarkMillis);
        if (added[0] && registry != null) {
            register(tier);
        }
    }

    /** A task moved to another instance (or closed): its watermarks no longer count here. */
    public void taskClosed(String task) {
        watermarks.values().forEach(m -> m.remove(task));
    }

    /** Seconds the tier trails the clock; NaN while no task of this instance has the tier. */
    double lagSeconds(String tier) {
        Map<String, Long> byTask = watermarks.get(tier);
        if (byTask == null || byTask.isEmpty()) {
            return Double.NaN;
        }
        long oldest = byTask.values().stream().mapToLong(Long::longValue).min().orElseThrow();
        return (clock.millis() - oldest) / 1000.0;
    }

    private void register(String tier) {
        Gauge.builder("stackstream.aggregator.rollup.lag", this, r -> r.lagSeconds(tier))
                .description("How far the tier's newest rolled-up bucket trails the wall clock (oldest task)")
                .baseUnit("seconds")
                .tag("tier", tier)
                .register(registry);
    }
}
