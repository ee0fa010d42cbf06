package dev.stackstream.aggregator.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The aggregator's ingest health, read from the Kafka Streams instance's own metrics at scrape
 * time.
 *
 * <p>Micrometer's {@code KafkaStreamsMetrics} binder exports every one of the several hundred
 * client metrics, under names {@code promtool} rejects (e.g. {@code ..._time_ns_total}); an
 * operator needs five of them, so this binder derives exactly those, with stable names:
 * <ul>
 *   <li>{@code stackstream.aggregator.consumer.lag} {topic} — records between each assigned
 *       partition's committed position and its end, summed per topic;</li>
 *   <li>{@code stackstream.aggregator.store.keys} / {@code stackstream.aggregator.store.size}
 *       (bytes) {store} — RocksDB's estimate of keys and the SST files' size, summed over the
 *       store's tasks and segments on this instance;</li>
 *   <li>{@code stackstream.aggregator.streams.state} {state} — 1 for the instance's current state,
 *       0 for the others.</li>
 * </ul>
 * Topics and stores appear as partitions are assigned: {@link #refresh()} registers them; it runs
 * every few seconds on a daemon thread from {@link #bindTo} until {@link #close()}, and may also be
 * called before a scrape.
 */
public final class StreamsMetrics implements MeterBinder, AutoCloseable {
    private static final String FETCH_GROUP = "consumer-fetch-manager-metrics";
    private static final String STATE_GROUP = "stream-state-metrics";
    private static final long REFRESH_SECONDS = 5;

    private final KafkaStreams streams;
    private final Set<String> topics = ConcurrentHashMap.newKeySet();
    private final Set<String> stores = ConcurrentHashMap.newKeySet();
    private volatile MeterRegistry registry;
    private volatile ScheduledExecutorService refresher;

    public StreamsMetrics(KafkaStreams streams) {
        this.streams = Objects.requireNonNull(streams, "streams");
    }

    private Map<MetricName, ? extends Metric> metrics() {
        return streams.metrics();
    }

    private static double value(Metric m) {
        Object v = m.metricValue();
        return v instanceof Number n && !Double.isNaN(n.doubleValue()) ? n.doubleValue() : 0;
    }

    /** Restore consumers replay changelogs; their lag is recovery, not ingest. */
    private static boolean ingestConsumer(MetricName n) {
        String client = n.tags().getOrDefault("client-id", "");
        return !client.endsWith("restore-consumer");
    }

    /** Lag summed per topic over the partitions assigned to this instance. */
    Map<String, Double> lagByTopic() {
        Map<String, Double> lag = new TreeMap<>();
        for (Map.Entry<MetricName, ? extends Metric> e : metrics().entrySet()) {
            MetricName n = e.getKey();
            if (n.group().equals(FETCH_GROUP) && n.name().equals("records-lag")
                    && n.tags().containsKey("partition") && ingestConsumer(n)) {
                lag.merge(n.tags().get("topic"), value(e.getValue()), Double::sum);
            }
        }
        return lag;
    }

    /** A RocksDB property (e.g. {@code estimate-num-keys}) summed per store. */
    Map<String, Double> storeProperty(String property) {
        Map<String, Double> byStore = new TreeMap<>();
        for (Map.Entry<MetricName, ? extends Metric> e : metrics().entrySet()) {
            MetricName n = e.getKey();
            if (n.group().equals(STATE_GROUP) && n.name().equals(property)) {
                String store = storeName(n.tags());
                if (store != null) {
                    byStore.merge(store, value(e.getValue()), Double::sum);
                }
            }
        }
        return byStore;
    }

    /** Store metrics carry the store name under a type-specific tag: rocksdb-state-id, rocksdb-window-state-id... */
    private static String storeName(Map<String, String> tags) {
        for (Map.Entry<String, String> t : tags.entrySet()) {
            if (t.getKey().endsWith("-state-id")) {
                return t.getValue();
            }
        }
        return null;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        this.registry = registry;
        for (KafkaStreams.State s : KafkaStreams.State.values()) {
            Gauge.builder("stackstream.aggregator.streams.state", streams, k -> k.state() == s ? 1 : 0)
                    .description("1 for the Kafka Streams instance's current state")
                    .tag("state", s.name().toLowerCase(Locale.ROOT))
                    .register(registry);
        }
        refresh();
        ScheduledExecutorService r = Executors.newSingleThreadScheduledExecutor(t -> {
            Thread th = new Thread(t, "stackstream-streams-metrics");
            th.setDaemon(true);
            return th;
        });
        r.scheduleWithFixedDelay(this::refreshQuietly, REFRESH_SECONDS, REFRESH_SECONDS, TimeUnit.SECONDS);
        refresher = r;
    }

    private void refreshQuietly() {
        try {
            refresh();
        } catch (RuntimeException e) {
            // A client closing under us; the next run (or close) settles it.
        }
    }

    /** Stops the background refresh; the meters stay registered. */
    @Override
    public void close() {
        ScheduledExecutorService r = refresher;
        if (r != null) {
            r.shutdownNow();
        }
    }

    /** Registers gauges for topics and stores that appeared since the last call. */
    public void refresh() {
        MeterRegistry r = registry;
        if (r == null) {
            return;
        }
        for (String topic : lagByTopic().keySet()) {
            if (topics.add(topic)) {
                Gauge.builder("stackstream.aggregator.consumer.lag", this,
                                m -> m.lagByTopic().getOrDefault(topic, 0.0))
                        .description("Records not yet consumed, summed over this instance's partitions of the topic")
                        .tag("topic", topic)
                        .register(r);
            }
        }
        for (String store : storeProperty("estimate-num-keys").keySet()) {
            if (stores.add(store)) {
                Gauge.builder("stackstream.aggregator.store.keys", this,
                                m -> m.storeProperty("estimate-num-keys").getOrDefault(store, 0.0))
                        .description("RocksDB's estimate of the keys in the store on this instance")
                        .tag("store", store)
                        .register(r);
                Gauge.builder("stackstream.aggregator.store.size", this,
                                m -> m.storeProperty("total-sst-files-size").getOrDefault(store, 0.0))
                        .description("Size of the store's SST files on this instance")
                        .baseUnit(BaseUnits.BYTES)
                        .tag("store", store)
                        .register(r);
            }
        }
    }
}
