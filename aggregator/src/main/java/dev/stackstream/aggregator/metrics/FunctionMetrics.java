package dev.stackstream.aggregator.metrics;

import dev.stackstream.aggregator.engine.Series;
import dev.stackstream.aggregator.engine.StackCounts;
import dev.stackstream.aggregator.engine.Tier;
import dev.stackstream.aggregator.query.LabelSelector;
import dev.stackstream.aggregator.query.LocalQueries;
import dev.stackstream.aggregator.query.QuerySpec;
import dev.stackstream.aggregator.query.StackDictionary;
import dev.stackstream.profile.StackId;
import dev.stackstream.profile.report.FunctionCosts;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Profiles turned into metrics Prometheus can keep for months and alert on: per service, the self
 * and total share of its hottest CPU functions over a sliding window, from this instance's own
 * partitions (the local query path; no fan-out, so every instance exports what it owns and nothing
 * twice).
 *
 * <p>Exported (Prometheus names; labels {@code service}, {@code function}):
 * <ul>
 *   <li>{@code stackstream_aggregator_function_self_ratio} — samples with the function as the leaf
 *       / the service's samples in the window;</li>
 *   <li>{@code stackstream_aggregator_function_total_ratio} — samples with the function anywhere on
 *       the stack (once per stack) / the service's samples;</li>
 *   <li>{@code stackstream_aggregator_function_window_samples{service}} — the denominator, so
 *       instances' shares can be weighted into a cluster-wide one.</li>
 * </ul>
 * The functions of a service are the {@code top} with the largest self share and the {@code top}
 * with the largest total share (ties by name), at most {@code 2 × top}; the services are the
 * {@code maxServices} with the most samples in the window. So at most
 * {@code maxServices × (4 × top + 1)} series, whatever the profiles hold. Names are normalised by
 * {@link FunctionNames}. Each {@link #refresh()} replaces the whole set: a function that left the
 * top, or a service without samples in the window, loses its series at once (not a stale value).
 *
 * <p>The window is {@code [end − window, end)} with {@code end} the end of the finest bucket
 * holding now (the open bucket counts), in whole finest-tier buckets.
 */
public final class FunctionMetrics {
    /** Profile type the metrics describe. */
    public static final String TYPE = "cpu";

    /**
     * How many functions and services, over which window.
     *
     * @param top functions per ranking (self, total) per service; 0 switches the metrics off
     * @param window length of the sliding window
     * @param maxServices services exported at most (the ones with the most samples)
     * @param refreshInterval how often the aggregator recomputes them
     */
    public record Settings(int top, Duration window, int maxServices, Duration refreshInterval) {
        /** Top 20 functions over 5 minutes for up to 50 services, recomputed every 30 s. */
        public static final Settings DEFAULTS = new Settings(20, Duration.ofMinutes(5), 50, Duration.ofSeconds(30));

        public Settings {
            Objects.requireNonNull(window, "window");
            Objects.requireNonNull(refreshInterval, "refreshInterval");
            if (top < 0 || top > 1000) {
                throw new IllegalArgumentException("function metrics top must be 0..1000, got " + top);
            }
            if (maxServices < 1 || maxServices > 10_000) {
                throw new IllegalArgumentException("function metrics services must be 1..10000, got " + maxServices);
            }
            if (window.toMillis() < 1000) {
                throw new IllegalArgumentException("function metrics window must be at least 1s, got " + window);
            }
            if (refreshInterval.toMillis() < 100) {
                throw new IllegalArgumentException("function metrics refresh interval must be >= 100ms");
            }
        }

        public boolean enabled() {
            return top > 0;
        }
    }

    /** One exported function of one service. */
    public record FunctionShare(String service, String function, double self, double total) { }

    private final LocalQueries local;
    private final StackDictionary dictionary;
    private final List<Tier> tiers;
    private final Clock clock;
    private final Settings settings;
    private MultiGauge selfGauge;
    private MultiGauge totalGauge;
    private MultiGauge samplesGauge;
    private volatile List<FunctionShare> current = List.of();

    public FunctionMetrics(LocalQueries local, StackDictionary dictionary, List<Tier> tiers, Clock clock,
                           Settings settings) {
        this.local = Objects.requireNonNull(local, "local");
        this.dictionary = Objects.requireNonNull(dictionary, "dictionary");
        this.tiers = List.copyOf(tiers);
        this.clock = Objects.requireNonNull(clock, "clock");
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    public Settings settings() {
        return settings;
    }

    /** Registers the three gauges (empty until the first refresh). */
    public void bindTo(MeterRegistry registry) {
        selfGauge = MultiGauge.builder("stackstream.aggregator.function.self")
                .description("Share of the service's CPU samples in the window with this function as the leaf")
                .baseUnit("ratio").register(registry);
        totalGauge = MultiGauge.builder("stackstream.aggregator.function.total")
                .description("Share of the service's CPU samples in the window with this function on the stack")
                .baseUnit("ratio").register(registry);
        samplesGauge = MultiGauge.builder("stackstream.aggregator.function.window.samples")
                .description("CPU samples of the service in the function metrics' window (this instance's partitions)")
                .register(registry);
    }

    /** What the last refresh exported, services by samples, functions by self share. */
    public List<FunctionShare> current() {
        return current;
    }

    /**
     * Recomputes every share from the local stores and replaces the exported series. Throws the
     * query path's ApiException (503) while the instance is not RUNNING; the last values stay.
     */
    public synchronized void refresh() {
        Tier finest = tiers.get(0);
        long end = finest.bucketStart(clock.millis()) + finest.sizeMillis();
        long length = Math.max(1, (settings.window().toMillis() + finest.sizeMillis() - 1) / finest.sizeMillis())
                * finest.sizeMillis();
        Set<String> services = new LinkedHashSet<>();
        for (Series.Stored s : local.series()) {
            if (s.series().type().equals(TYPE)) {
                services.add(s.series().service());
            }
        }
        List<ServiceCosts> measured = new ArrayList<>();
        for (String service : services) {
            StackCounts counts = local.partial(new QuerySpec(service, TYPE, LabelSelector.all(), end - length, end,
                    0, tiers.size() - 1)).counts();
            ServiceCosts c = costs(service, counts);
            if (c.costs.samples() > 0) {
                measured.add(c);
            }
        }
        measured.sort(Comparator.comparingLong((ServiceCosts c) -> -c.costs.samples()).thenComparing(c -> c.service));
        List<FunctionShare> shares = new ArrayList<>();
        List<MultiGauge.Row<?>> samplesRows = new ArrayList<>();
        for (ServiceCosts c : measured.subList(0, Math.min(measured.size(), settings.maxServices()))) {
            shares.addAll(top(c));
            samplesRows.add(MultiGauge.Row.of(Tags.of("service", c.service), c.costs.samples()));
        }
        current = List.copyOf(shares);
        if (selfGauge != null) {
            selfGauge.register(shares.stream().map(f -> MultiGauge.Row.of(tags(f), f.self())).toList(), true);
            totalGauge.register(shares.stream().map(f -> MultiGauge.Row.of(tags(f), f.total())).toList(), true);
            samplesGauge.register(samplesRows, true);
        }
    }

    private record ServiceCosts(String service, FunctionCosts costs) { }

    /** Samples per function of one service, threads merged (the dictionary caches resolved stacks). */
    private ServiceCosts costs(String service, StackCounts counts) {
        FunctionCosts costs = new FunctionCosts(FunctionNames::of);
        counts.entries().forEach((k, v) -> costs.add(dictionary.resolve(new StackId(k.stackHigh(), k.stackLow())), v[0]));
        return new ServiceCosts(service, costs);
    }

    /** The union of the top by self and the top by total, by self share then name. */
    private List<FunctionShare> top(ServiceCosts c) {
        Map<String, Long> self = c.costs.self();
        Map<String, Long> total = c.costs.total();
        Set<String> chosen = new LinkedHashSet<>();
        chosen.addAll(ranked(self));
        chosen.addAll(ranked(total));
        double n = c.costs.samples();
        Map<String, FunctionShare> out = new TreeMap<>();
        for (String f : chosen) {
            out.put(f, new FunctionShare(c.service, f, self.getOrDefault(f, 0L) / n, total.getOrDefault(f, 0L) / n));
        }
        return out.values().stream().sorted(Comparator.comparingDouble(FunctionShare::self).reversed()
                .thenComparing(FunctionShare::function)).toList();
    }

    private List<String> ranked(Map<String, Long> samples) {
        return samples.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .limit(settings.top()).map(Map.Entry::getKey).toList();
    }

    private static Tags tags(FunctionShare f) {
        return Tags.of("service", f.service(), "function", f.function());
    }
}
