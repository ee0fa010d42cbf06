package dev.stackstream.collector.metrics;

import dev.stackstream.collector.sampling.NativeStats;
import dev.stackstream.collector.sampling.SamplingOptions;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * Sampling counters over every target the collector is attached to.
 *
 * <p>A collector attaches to targets and detaches from them as processes start and exit
 * ({@code --process-regex}); each sampling session keeps cumulative counters that vanish with it.
 * Prometheus counters must never go backwards, so a detached session's last reading is folded into
 * a retired total and the exported value is {@code retired + sum(live)}.
 *
 * <p>Meters:
 * <ul>
 *   <li>{@code stackstream.collector.samples} {outcome=taken|lost|throttled|overflow} — samples
 *       counted, dropped by the kernel (ring buffer full), throttling events, and samples refused by
 *       a full stack table;</li>
 *   <li>{@code stackstream.collector.stacks.truncated} — stacks cut at the depth limit;</li>
 *   <li>{@code stackstream.collector.stacks.cut} {reason=stack-copy|no-unwind-info|corrupt|depth} —
 *       stacks whose unwinding stopped before the root, by why (marked {@code [truncated: REASON]});</li>
 *   <li>{@code stackstream.collector.unwind.frames} {method=cfi|fp} — frames unwound by CFI and by
 *       the frame pointer;</li>
 *   <li>{@code stackstream.collector.unwind.tables.compiled} / {@code .evicted} — unwind tables
 *       compiled (per module, by build-id) and evicted under the memory cap;</li>
 *   <li>{@code stackstream.collector.unwind.tables} and {@code .tables.size} — tables held now and
 *       their bytes; {@code stackstream.collector.unwind.stack.copy} — user-stack bytes copied per
 *       sample (largest over the targets); {@code stackstream.collector.unwind.mode}
 *       {mode=auto|fp|cfi} — targets sampled with that unwinding;</li>
 *   <li>{@code stackstream.collector.errors} {cause=thread-attach} — threads that vanished or refused between discovery and attach;</li>
 *   <li>{@code stackstream.collector.targets} — targets attached now;</li>
 *   <li>{@code stackstream.collector.threads} — threads sampled now;</li>
 *   <li>{@code stackstream.collector.stack.table.size} — bytes the native stack tables hold now.</li>
 * </ul>
 */
public final class SamplingMetrics implements MeterBinder {
    private final Set<Target> live = ConcurrentHashMap.newKeySet();
    private final Object retiredLock = new Object();
    private final long[] retired = new long[Field.values().length];

    /** The cumulative fields exported as counters. */
    private enum Field {
        SAMPLES(NativeStats::samples), LOST(NativeStats::lost), THROTTLED(NativeStats::throttled),
        OVERFLOW(NativeStats::tableOverflow), TRUNCATED(NativeStats::truncated),
        ATTACH_FAILURES(NativeStats::attachFailures),
        CUT_STACK_COPY(s -> s.unwind().cutStackCopy()), CUT_NO_UNWIND_INFO(s -> s.unwind().cutNoUnwindInfo()),
        CUT_CORRUPT(s -> s.unwind().cutCorrupt()), CFI_FRAMES(s -> s.unwind().cfiFrames()),
        FP_FRAMES(s -> s.unwind().fpFrames()), TABLES_COMPILED(s -> s.unwind().modules()),
        TABLES_EVICTED(s -> s.unwind().evictions());

        final ToLongFunction<NativeStats> read;

        Field(ToLongFunction<NativeStats> read) {
            this.read = read;
        }
    }

    /**
     * Starts counting a target's session. Close the returned handle BEFORE closing the session, so
     * its final counters are read while they still can be (a failed final read keeps the last good
     * one).
     *
     * @param name the target, for diagnostics (pid, cgroup path)
     * @param stats the session's cumulative counters, e.g. {@code session::stats}
     */
    public Target attach(String name, Supplier<NativeStats> stats) {
        Target t = new Target(name, stats);
        live.add(t);
        return t;
    }

    /** Number of targets attached now. */
    public int targets() {
        return live.size();
    }

    /** Retired plus live counters of one field. */
    private long total(Field f) {
        // Under the lock: a target closing half-way through the sum would otherwise be counted
        // twice or not at all, and a counter that dips looks like a reset to Prometheus.
        synchronized (retiredLock) {
            long sum = retired[f.ordinal()];
            for (Target t : live) {
                sum += f.read.applyAsLong(t.read());
            }
            return sum;
        }
    }

    private long liveSum(ToLongFunction<NativeStats> f) {
        long sum = 0;
        for (Target t : live) {
            sum += f.applyAsLong(t.read());
        }
        return sum;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        counter(registry, "stackstream.collector.samples", "outcome", "taken", Field.SAMPLES,
                "Samples counted into the stack table");
        counter(registry, "stackstream.collector.samples", "outcome", "lost", Field.LOST,
                "Samples the kernel dropped because the ring buffer was full");
        counter(registry, "stackstream.collector.samples", "outcome", "throttled", Field.THROTTLED,
                "Times the kernel throttled the sampling event");
        counter(registry, "stackstream.collector.samples", "outcome", "overflow", Field.OVERFLOW,
                "Samples refused because the stack table reached its memory cap");
        FunctionCounter.builder("stackstream.collector.stacks.truncated", this, m -> m.total(Field.TRUNCATED))
                .description("Stacks cut at the depth limit")
                .register(registry);
        FunctionCounter.builder("stackstream.collector.errors", this, m -> m.total(Field.ATTACH_FAILURES))
                .description("Errors by cause")
                .tag("cause", "thread-attach")
                .register(registry);
        Gauge.builder("stackstream.collector.targets", this, SamplingMetrics::targets)
                .description("Targets (processes or cgroups) attached now")
                .register(registry);
        Gauge.builder("stackstream.collector.threads", this,
                        m -> m.liveSum(s -> s.threadsAttached() - s.threadsExited()))
                .description("Threads sampled now")
                .register(registry);
        Gauge.builder("stackstream.collector.stack.table.size", this, m -> m.liveSum(NativeStats::tableBytes))
                .description("Memory the native stack tables hold now")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
        bindUnwinding(registry);
    }

    private void bindUnwinding(MeterRegistry registry) {
        String cut = "stackstream.collector.stacks.cut";
        counter(registry, cut, "reason", "stack-copy", Field.CUT_STACK_COPY,
                "Stacks cut because the next frame lay beyond the stack bytes copied");
        counter(registry, cut, "reason", "no-unwind-info", Field.CUT_NO_UNWIND_INFO,
                "Stacks cut at a frame with neither CFI nor a usable frame pointer");
        counter(registry, cut, "reason", "corrupt", Field.CUT_CORRUPT,
                "Stacks cut at a return address that is not code or a stack that does not grow");
        counter(registry, cut, "reason", "depth", Field.TRUNCATED, "Stacks cut at the depth limit");
        counter(registry, "stackstream.collector.unwind.frames", "method", "cfi", Field.CFI_FRAMES,
                "Frames unwound by CFI");
        counter(registry, "stackstream.collector.unwind.frames", "method", "fp", Field.FP_FRAMES,
                "Frames unwound by the frame pointer (code without CFI)");
        FunctionCounter.builder("stackstream.collector.unwind.tables.compiled", this,
                        m -> m.total(Field.TABLES_COMPILED))
                .description("Unwind tables compiled (one per module by build-id; again after an eviction)")
                .register(registry);
        FunctionCounter.builder("stackstream.collector.unwind.tables.evicted", this,
                        m -> m.total(Field.TABLES_EVICTED))
                .description("Unwind tables evicted, least recently used first, to stay under the memory cap")
                .register(registry);
        Gauge.builder("stackstream.collector.unwind.tables", this, m -> m.liveSum(s -> s.unwind().tables()))
                .description("Compiled unwind tables held now")
                .register(registry);
        Gauge.builder("stackstream.collector.unwind.tables.size", this,
                        m -> m.liveSum(s -> s.unwind().tableBytes()))
                .description("Memory the compiled unwind tables hold now")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
        Gauge.builder("stackstream.collector.unwind.stack.copy", this, SamplingMetrics::stackCopyBytes)
                .description("User-stack bytes copied per sample for unwinding (largest over the targets)")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
        for (SamplingOptions.Unwind mode : SamplingOptions.Unwind.values()) {
            Gauge.builder("stackstream.collector.unwind.mode", this, m -> m.targetsIn(mode))
                    .description("Targets sampled with this unwinding")
                    .tag("mode", mode.name().toLowerCase(Locale.ROOT))
                    .register(registry);
        }
    }

    private double stackCopyBytes() {
        int max = 0;
        for (Target t : live) {
            max = Math.max(max, t.read().unwind().stackBytes());
        }
        return max;
    }

    private double targetsIn(SamplingOptions.Unwind mode) {
        int n = 0;
        for (Target t : live) {
            NativeStats s = t.read();
            n += s.unwind().stackBytes() > 0 && s.unwind().mode() == mode ? 1 : 0;
        }
        return n;
    }

    private void counter(MeterRegistry registry, String name, String tag, String value, Field f, String doc) {
        FunctionCounter.builder(name, this, m -> m.total(f)).description(doc).tag(tag, value).register(registry);
    }

    /** One attached target; {@link #close()} detaches it and keeps its counts. */
    public final class Target implements AutoCloseable {
        private final String name;
        private final Supplier<NativeStats> stats;
        private volatile NativeStats last = NativeStats.ZERO;
        private boolean closed;

        private Target(String name, Supplier<NativeStats> stats) {
            this.name = Objects.requireNonNull(name, "name");
            this.stats = Objects.requireNonNull(stats, "stats");
        }

        NativeStats read() {
            try {
                NativeStats s = stats.get();
                if (s != null) {
                    last = s;
                }
            } catch (RuntimeException e) {
                // A session that is closing may refuse; its last good reading still counts.
            }
            return last;
        }

        /** The target's name, as given to {@link SamplingMetrics#attach}. */
        public String name() {
            return name;
        }

        @Override
        public void close() {
            synchronized (retiredLock) {
                if (closed) {
                    return;
                }
                closed = true;
                NativeStats s = read();
                for (Field f : Field.values()) {
                    retired[f.ordinal()] += f.read.applyAsLong(s);
                }
                live.remove(this);
            }
        }
    }
}
