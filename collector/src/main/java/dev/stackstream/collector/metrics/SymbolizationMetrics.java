package dev.stackstream.collector.metrics;

import dev.stackstream.symbols.ModuleKind;
import dev.stackstream.symbols.SymbolizerStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Symbolization hit rate per module kind, and symbolization warnings, over every symbolizer the
 * collector uses (one per attached target). Like {@link SamplingMetrics}, a closed symbolizer's
 * last counts are kept so the exported counters never go backwards.
 *
 * <p>Meters:
 * <ul>
 *   <li>{@code stackstream.collector.symbolization.addresses} {module_kind=elf|kernel|jit|vdso|other,
 *       outcome=resolved|unresolved} — the hit rate is
 *       {@code rate(resolved) / rate(resolved + unresolved)} per kind. Every kind is registered from
 *       the start, so a kind that never occurred reads 0 rather than missing;</li>
 *   <li>{@code stackstream.collector.errors} {cause=symbolization-&lt;warning&gt;} — symbolization
 *       warnings (corrupt ELF files, bad perf-map lines, unreadable maps...). Causes appear as they
 *       occur: call {@link #refresh()} before each scrape to register new ones.</li>
 * </ul>
 */
public final class SymbolizationMetrics implements MeterBinder {
    private static final ModuleKind[] KINDS = ModuleKind.values();

    private final Set<Source> live = ConcurrentHashMap.newKeySet();
    private final Object lock = new Object();
    /** Retired counts: [kind][0 = resolved, 1 = unresolved]. */
    private final long[][] retired = new long[KINDS.length][2];
    private final Map<String, Long> retiredWarnings = new HashMap<>();
    private final Set<String> knownCauses = ConcurrentHashMap.newKeySet();
    private volatile MeterRegistry registry;

    /**
     * Starts counting a symbolizer. Close the handle before (or when) the symbolizer closes; its
     * last good reading is kept.
     *
     * @param stats the symbolizer's cumulative counters, e.g. {@code symbolizer::stats}
     */
    public Source attach(Supplier<SymbolizerStats> stats) {
        Source s = new Source(stats);
        live.add(s);
        return s;
    }

    private static long count(SymbolizerStats s, ModuleKind kind, boolean resolved) {
        if (s == null) {
            return 0;
        }
        SymbolizerStats.Counts c = s.byModuleKind().get(kind);
        return c == null ? 0 : resolved ? c.resolved() : c.unresolved();
    }

    private double total(ModuleKind kind, boolean resolved) {
        synchronized (lock) {
            long sum = retired[kind.ordinal()][resolved ? 0 : 1];
            for (Source s : live) {
                sum += count(s.read(), kind, resolved);
            }
            return sum;
        }
    }

    private Map<String, Long> warnings() {
        synchronized (lock) {
            Map<String, Long> sum = new HashMap<>(retiredWarnings);
            for (Source s : live) {
                SymbolizerStats st = s.read();
                if (st != null) {
                    st.warnings().forEach((k, v) -> sum.merge(k, v, Long::sum));
                }
            }
            return sum;
        }
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        this.registry = registry;
        for (ModuleKind kind : KINDS) {
            for (boolean resolved : new boolean[] {true, false}) {
                FunctionCounter.builder("stackstream.collector.symbolization.addresses", this,
                                m -> m.total(kind, resolved))
                        .description("Addresses symbolized, by module kind and whether a function name was found")
                        .tag("module_kind", kind.name().toLowerCase(Locale.ROOT))
                        .tag("outcome", resolved ? "resolved" : "unresolved")
                        .register(registry);
            }
        }
        refresh();
    }

    /** Registers a counter for every warning cause that appeared since the last call. */
    public void refresh() {
        MeterRegistry r = registry;
        if (r == null) {
            return;
        }
        for (String cause : warnings().keySet()) {
            if (knownCauses.add(cause)) {
                FunctionCounter.builder("stackstream.collector.errors", this,
                                m -> m.warnings().getOrDefault(cause, 0L))
                        .description("Errors by cause")
                        .tag("cause", "symbolization-" + cause)
                        .register(r);
            }
        }
    }

    /** One symbolizer being counted; {@link #close()} keeps its counts and stops reading it. */
    public final class Source implements AutoCloseable {
        private final Supplier<SymbolizerStats> stats;
        private volatile SymbolizerStats last;
        private boolean closed;

        private Source(Supplier<SymbolizerStats> stats) {
            this.stats = Objects.requireNonNull(stats, "stats");
        }

        SymbolizerStats read() {
            try {
                SymbolizerStats s = stats.get();
                if (s != null) {
                    last = s;
                }
            } catch (RuntimeException e) {
                // A closing symbolizer may refuse; its last good reading still counts.
            }
            return last;
        }

        @Override
        public void close() {
            synchronized (lock) {
                if (closed) {
                    return;
                }
                closed = true;
                SymbolizerStats s = read();
                for (ModuleKind kind : KINDS) {
                    retired[kind.ordinal()][0] += count(s, kind, true);
                    retired[kind.ordinal()][1] += count(s, kind, false);
                }
                if (s != null) {
                    s.warnings().forEach((k, v) -> retiredWarnings.merge(k, v, Long::sum));
                }
                live.remove(this);
            }
        }
    }
}
