package dev.stackstream.aggregator.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.aggregator.AggregatorMetrics;
import dev.stackstream.aggregator.MutableClock;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import dev.stackstream.wire.WireCodec;
import dev.stackstream.wire.WireIndexer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The aggregator's topology on Kafka Streams' {@link TopologyTestDriver}: real processor, real
 * RocksDB stores, no broker. Rollups across the default tiers, replayed windows counted once per
 * (collector, sequence), and the dead-letter paths. End to end (transactions, restarts, several
 * instances) stays with the broker tests.
 */
class AggregatorTopologyTest {
    private static final Duration GRACE = Duration.ofSeconds(30);
    private static final Duration ROLLUP_EVERY = Duration.ofSeconds(5);
    private static final Map<String, String> LABELS = Map.of("pod", "checkout-1");
    private static final ProfileType CPU = ProfileType.cpu(99);

    @TempDir
    Path stateDir;

    /** An hour boundary just past: windows from here fill one 1-h bucket whose rollup waits for its end. */
    private final Instant t0 = Instant.now().truncatedTo(ChronoUnit.HOURS);
    private final MutableClock clock = MutableClock.at(t0);
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> samples;
    private TestOutputTopic<byte[], byte[]> deadLetters;

    @BeforeEach
    void start() {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "topology-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(AggregatorTopology.build("samples", "stacks", "dlq", Tier.DEFAULTS, GRACE,
                ROLLUP_EVERY, Duration.ofDays(7), clock, new AggregatorMetrics(registry)), p, clock.instant());
        samples = driver.createInputTopic("samples", new ByteArraySerializer(), new ByteArraySerializer());
        deadLetters = driver.createOutputTopic("dlq", new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    /** Window n: 10 s from t0 + 10 n s, stacks 0..n % 4, count 10 n + i + 1 each. */
    private Profile window(int n) {
        Instant start = t0.plusSeconds(10L * n);
        ProfileBuilder b = Profile.builder(CPU).timeRange(start, start.plusSeconds(10));
        for (int i = 0; i <= n % 4; i++) {
            b.add(Stack.of(Frame.named("main", FrameKind.USER), Frame.named("work_" + i, FrameKind.USER)),
                    i % 2 == 0 ? "worker" : null, 10L * n + i + 1);
        }
        return b.build();
    }

    private void send(String key, byte[] value) {
        samples.pipeInput(key.getBytes(StandardCharsets.UTF_8), value, clock.instant());
    }

    /** Moves the processor's clock and the driver's wall clock together (the rollup punctuation). */
    private void advance(Duration d) {
        clock.advance(d);
        driver.advanceWallClockTime(d);
    }

    private Bytes seriesKey(String service) {
        return Bytes.wrap(Series.of(service, CPU.name(), CPU.unit(), CPU.period(), LABELS).id());
    }

    /** Per bucket start (ms), the total count a tier holds for the service's series. */
    private List<long[]> buckets(Tier tier, String service) {
        WindowStore<Bytes, byte[]> store = driver.getWindowStore(StoreNames.tier(tier));
        List<long[]> out = new ArrayList<>();
        try (WindowStoreIterator<byte[]> it = store.fetch(seriesKey(service), t0.minus(Duration.ofDays(1)),
                t0.plus(Duration.ofDays(1)))) {
            while (it.hasNext()) {
                KeyValue<Long, byte[]> kv = it.next();
                out.add(new long[] {kv.key, StackCounts.decode(kv.value).total()});
            }
        }
        return out;
    }

    private long total(Tier tier, String service) {
        return buckets(tier, service).stream().mapToLong(b -> b[1]).sum();
    }

    private double counter(String name) {
        return registry.find(name).counters().stream().mapToDouble(c -> c.count()).sum();
    }

    @Test
    void compactWindowsRollUpFromTenSecondsToMinutesToTheHourWithoutLosingOrDoublingACount() {
        WireIndexer indexer = new WireIndexer(1000, 100);
        long[] perMinute = new long[2];
        for (int n = 0; n < 12; n++) {
            clock.advance(Duration.ofSeconds(10));      // each window arrives as it ends
            WireIndexer.Encoded w = indexer.encode(window(n), "checkout", LABELS, "c-1", n);
            indexer.acknowledged("c-1", w.carried());
            send("c-1", w.value());
            perMinute[n / 6] += window(n).totalCount();
        }
        Tier tenSeconds = Tier.DEFAULTS.get(0);
        Tier minute = Tier.DEFAULTS.get(1);
        Tier hour = Tier.DEFAULTS.get(2);
        List<long[]> fine = buckets(tenSeconds, "checkout");
        assertEquals(12, fine.size(), "one 10-s bucket per window");
        for (int n = 0; n < 12; n++) {
            assertEquals(t0.plusSeconds(10L * n).toEpochMilli(), fine.get(n)[0]);
            assertEquals(window(n).totalCount(), fine.get(n)[1], "window " + n);
        }
        assertEquals(0, total(hour, "checkout"), "the hour is open: nothing rolled into it yet");

        advance(Duration.ofMinutes(2));
        List<long[]> minutes = buckets(minute, "checkout");
        assertEquals(2, minutes.size());
        assertArrayEquals(new long[] {t0.toEpochMilli(), perMinute[0]}, minutes.get(0));
        assertArrayEquals(new long[] {t0.plusSeconds(60).toEpochMilli(), perMinute[1]}, minutes.get(1));
        assertEquals(0, total(hour, "checkout"), "still open");

        advance(Duration.ofHours(1));
        List<long[]> hours = buckets(hour, "checkout");
        assertEquals(1, hours.size());
        assertArrayEquals(new long[] {t0.toEpochMilli(), perMinute[0] + perMinute[1]}, hours.get(0));
        assertEquals(total(tenSeconds, "checkout"), total(minute, "checkout"), "rollups move counts, never make them");
    }

    @Test
    void aReplayedWindowIsCountedOncePerCollectorAndSequenceInEitherWireForm() {
        clock.advance(Duration.ofMinutes(1));
        WireIndexer indexer = new WireIndexer(1000, 100);
        List<byte[]> compact = new ArrayList<>();
        for (int n = 0; n < 3; n++) {
            WireIndexer.Encoded w = indexer.encode(window(n), "checkout", LABELS, "c-1", n);
            indexer.acknowledged("c-1", w.carried());
            compact.add(w.value());
        }
        byte[] legacy = WireCodec.encodeWindow(window(1), "checkout", LABELS, "c-legacy", 0);
        send("c-1", compact.get(0));
        send("c-1", compact.get(1));
        send("c-1", compact.get(1));                  // producer retry
        send("c-1", compact.get(2));
        send("c-1", compact.get(0));                  // the collector re-sent its buffer
        send("c-legacy", legacy);
        send("c-legacy", legacy);
        long expected = window(0).totalCount() + window(1).totalCount() + window(2).totalCount()
                + window(1).totalCount();
        assertEquals(expected, total(Tier.DEFAULTS.get(0), "checkout"), "every window once, the legacy one too");
        assertEquals(3, counter("stackstream.aggregator.replays.skipped"));
        assertTrue(deadLetters.isEmpty(), "a replay is no error");

        // Same sequence numbers from another collector run are other windows.
        WireIndexer next = new WireIndexer(1000, 100);
        send("c-2", next.encode(window(0), "checkout", LABELS, "c-2", 0).value());
        assertEquals(expected + window(0).totalCount(), total(Tier.DEFAULTS.get(0), "checkout"));
    }

    @Test
    void refusedRecordsGoToTheDeadLetterTopicWithTheirReasonAndTheStreamGoesOn() {
        clock.advance(Duration.ofMinutes(1));
        WireIndexer indexer = new WireIndexer(1000, 100);
        WireIndexer.Encoded first = indexer.encode(window(0), "checkout", LABELS, "c-1", 0);
        indexer.acknowledged("c-1", first.carried());
        byte[] contextLeftOut = indexer.encode(window(1), "checkout", LABELS, "c-1", 1).value();

        byte[] json = "{\"service\":\"checkout\"}".getBytes(StandardCharsets.UTF_8);
        byte[] truncated = java.util.Arrays.copyOf(first.value(), first.value().length - 3);
        byte[] future = WireCodec.encodeWindow(window(360), "checkout", LABELS, "c-3", 0);   // 1 h ahead
        byte[] longService = WireCodec.encodeWindow(window(0), "s".repeat(300), LABELS, "c-4", 0);
        send("c-1", json);
        send("c-1", truncated);
        send("someone-else", first.value());
        send("c-1", contextLeftOut);                  // its context travelled in window 0, never seen here
        send("c-3", future);
        send("c-4", longService);

        List<String> reasons = new ArrayList<>();
        List<byte[]> values = new ArrayList<>();
        for (TestRecord<byte[], byte[]> r : deadLetters.readRecordsToList()) {
            reasons.add(new String(r.headers().lastHeader(DeadLetters.REASON_HEADER).value(), StandardCharsets.UTF_8));
            values.add(r.value());
        }
        assertEquals(List.of("foreign-bytes", "truncated", "key-mismatch", "context-unknown", "window-in-future",
                "limits"), reasons);
        List<byte[]> sent = List.of(json, truncated, first.value(), contextLeftOut, future, longService);
        for (int i = 0; i < sent.size(); i++) {
            assertArrayEquals(sent.get(i), values.get(i), "record " + reasons.get(i) + " kept whole for replay");
        }
        assertEquals(0, total(Tier.DEFAULTS.get(0), "checkout"), "nothing refused was counted");
        assertEquals(6, counter("stackstream.aggregator.dlq.records"));

        // The refused windows left no state: window 0, then the dead-lettered window 1 replayed, both count.
        send("c-1", first.value());
        send("c-1", contextLeftOut);
        assertEquals(window(0).totalCount() + window(1).totalCount(), total(Tier.DEFAULTS.get(0), "checkout"));
        assertTrue(deadLetters.isEmpty());
    }
}
