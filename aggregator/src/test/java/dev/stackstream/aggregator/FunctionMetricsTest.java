package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.aggregator.metrics.FunctionMetrics;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.metrics.ScrapeHandler;
import dev.stackstream.metrics.ServiceRegistry;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import dev.stackstream.wire.WireModel;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.IntToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * The function metrics of a real aggregator on a real broker, read from its real Prometheus
 * registry as /metrics serves it: known shares appear, the top-N and service bounds hold, and a
 * function that left the top (or a service that left the window) loses its series.
 *
 * <p>The windows carry exact counts, so the expected shares are exact; the only margin is the
 * text form of a double (1e-9).
 */
class FunctionMetricsTest {
    private static final String SAMPLES = "fm-samples";
    private static final String STACKS = "fm-stacks";
    private static final ProfileType CPU = ProfileType.cpu(99);
    private static final int TOP = 5;
    private static final int LEAVES = 60;
    private static final int WINDOWS = 6;
    private static final double MARGIN = 1e-9;
    private static final Pattern LINE = Pattern.compile("(?m)^(stackstream_aggregator_function_[a-z_]+)\\{([^}]*)} (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("([a-z_]+)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    private static Stack stack(Frame... frames) {
        return new Stack(List.of(frames), false);
    }

    private static Frame fn(String name) {
        return Frame.named(name, FrameKind.USER);
    }

    // shop: 70 % under main;a in libc (two unresolved addresses, one function), 30 % in main;c.
    private static final List<Stack> SHOP = List.of(
            stack(fn("main"), fn("a"), Frame.unresolved("/usr/lib/x86_64-linux-gnu/libc.so.6", null, 0x1234, FrameKind.USER)),
            stack(fn("main"), fn("a"), Frame.unresolved("/usr/lib/x86_64-linux-gnu/libc.so.6", null, 0x5678, FrameKind.USER)),
            stack(fn("main"), fn("c")));
    private static final long[] SHOP_COUNTS = {40, 30, 30};
    // many: LEAVES leaf functions under main;run, leaf_i with i+1 samples per window (phase 1).
    private static final List<Stack> MANY = new ArrayList<>();
    private static final Stack TINY = stack(fn("main"), fn("idle"));

    static {
        for (int i = 0; i < LEAVES; i++) {
            MANY.add(stack(fn("main"), fn("run"), fn("leaf_" + i)));
        }
    }

    @Test
    void sharesTopNBoundAndRemoval() throws Exception {
        MutableClock clock = new MutableClock();
        var kafka = SharedKafka.get();
        try (ServiceRegistry metrics = ServiceRegistry.create();
             Aggregator aggregator = Aggregator.start(AggregatorConfig.builder(kafka.bootstrapServers())
                     .applicationId("fm-" + System.nanoTime()).stateDir(Files.createTempDirectory("fm-state"))
                     .samplesTopic(SAMPLES).stacksTopic(STACKS).dlqTopic("fm-dlq").topicPartitions(2)
                     .httpPort(0).clock(clock).rocksDbMemoryBytes(32L << 20)
                     // Refreshed by the test only: the schedule's next run is an hour away.
                     .functionMetrics(new FunctionMetrics.Settings(TOP, Duration.ofMinutes(5), 2, Duration.ofHours(1)))
                     .build(), metrics.registry());
             KafkaProducer<byte[], byte[]> producer = TestKafka.producer(kafka.bootstrapServers())) {
            assertTrue(aggregator.awaitRunning(Duration.ofMinutes(1)), "aggregator RUNNING");
            List<Stack> all = new ArrayList<>(SHOP);
            all.addAll(MANY);
            all.add(TINY);
            TestKafka.sendStacks(producer, STACKS, all);
            ScrapeHandler scrape = ScrapeHandler.of(metrics.registry());

            // Phase 1: a minute of windows for three services; only two are exported (maxServices 2).
            Instant base = windowsStart(clock);
            for (int seq = 0; seq < WINDOWS; seq++) {
                Instant s = base.plusSeconds(10L * seq);
                send(producer, "shop", "shop-1", seq, s, SHOP, i -> SHOP_COUNTS[i]);
                send(producer, "many", "many-1", seq, s, MANY, i -> i + 1);
                send(producer, "tiny", "tiny-1", seq, s, List.of(TINY), i -> 1);
            }
            producer.flush();
            long manySamples = WINDOWS * (long) LEAVES * (LEAVES + 1) / 2;
            awaitCounted(aggregator, base, Map.of("shop", 100L * WINDOWS, "many", manySamples, "tiny", (long) WINDOWS));
            aggregator.functionMetrics().refresh();
            String text = scrape.scrape().text();
            Map<String, Map<String, Double>> self = gauge(text, "self_ratio");
            Map<String, Map<String, Double>> total = gauge(text, "total_ratio");

            assertShare(Map.of("libc.so.6", 0.7, "c", 0.3, "a", 0.0, "main", 0.0), self.get("shop"), "shop self");
            assertShare(Map.of("libc.so.6", 0.7, "c", 0.3, "a", 0.7, "main", 1.0), total.get("shop"), "shop total");
            assertEquals(100.0 * WINDOWS, samples(text, "shop"), "shop's window samples");
            assertEquals(manySamples, samples(text, "many"));

            // Top 5 by self (leaf_59..leaf_55) united with the top 5 by total (main, run, leaf_59..57).
            Set<String> expected = new TreeSet<>(List.of("main", "run"));
            for (int i = LEAVES - TOP; i < LEAVES; i++) {
                expected.add("leaf_" + i);
            }
            assertEquals(expected, self.get("many").keySet(), "many: the union of both top-" + TOP + " lists");
            assertTrue(self.get("many").size() <= 2 * TOP);
            assertEquals(expected, total.get("many").keySet());
            double perWindow = LEAVES * (LEAVES + 1) / 2.0;
            assertEquals(LEAVES / perWindow, self.get("many").get("leaf_59"), MARGIN);
            assertEquals(1.0, total.get("many").get("run"), MARGIN);
            assertFalse(self.containsKey("tiny"), "tiny has the fewest samples: beyond the 2 services exported");
            assertEquals(Set.of("shop", "many"), self.keySet());
            assertPromtoolAccepts(text);

            // Phase 2: ten minutes later only "many" has samples, and its hot leaves are the cold ones of before.
            clock.advance(Duration.ofMinutes(10));
            Instant later = windowsStart(clock);
            for (int seq = 0; seq < WINDOWS; seq++) {
                send(producer, "many", "many-1", WINDOWS + seq, later.plusSeconds(10L * seq), MANY, i -> LEAVES - i);
            }
            producer.flush();
            awaitCounted(aggregator, later, Map.of("many", manySamples));
            aggregator.functionMetrics().refresh();
            String after = scrape.scrape().text();
            Map<String, Map<String, Double>> selfAfter = gauge(after, "self_ratio");
            assertEquals(Set.of("many"), selfAfter.keySet(), "shop and tiny have no samples in the window: no series");
            assertFalse(after.contains("service=\"shop\""), after);
            Set<String> expectedAfter = new TreeSet<>(List.of("main", "run"));
            for (int i = 0; i < TOP; i++) {
                expectedAfter.add("leaf_" + i);
            }
            assertEquals(expectedAfter, selfAfter.get("many").keySet(), "leaf_55..59 fell out of the top and are gone");
            assertFalse(after.contains("function=\"leaf_59\""), after);
            assertEquals(LEAVES / perWindow, selfAfter.get("many").get("leaf_0"), MARGIN);
            assertEquals(selfAfter.get("many").keySet(), gauge(after, "total_ratio").get("many").keySet());
            assertPromtoolAccepts(after);
        }
    }

    /** Start of a minute of windows ending in the current finest bucket. */
    private static Instant windowsStart(MutableClock clock) {
        long now = clock.millis();
        return Instant.ofEpochMilli(now - now % 10_000 - 10_000L * (WINDOWS - 1));
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String service, String collector, long seq,
                             Instant start, List<Stack> stacks, IntToLongFunction count) {
        ProfileBuilder b = Profile.builder(CPU).timeRange(start, start.plusSeconds(10));
        for (int i = 0; i < stacks.size(); i++) {
            // Two threads per stack: the metrics merge threads.
            long c = count.applyAsLong(i);
            b.add(stacks.get(i), "worker", c / 2);
            b.add(stacks.get(i), "main", c - c / 2);
        }
        TestKafka.sendBatch(producer, SAMPLES, WireModel.toBatch(b.build(), service, Map.of("pod", service + "-0"),
                collector, seq));
    }

    private static void awaitCounted(Aggregator aggregator, Instant from, Map<String, Long> expected)
            throws InterruptedException {
        Instant to = from.plusSeconds(10L * WINDOWS);
        await(Duration.ofSeconds(120), "windows counted: " + expected, () -> expected.entrySet().stream()
                .allMatch(e -> aggregator.tierTotals(e.getKey(), from, to).get("10s").equals(e.getValue())));
    }

    private static double samples(String text, String service) {
        return gauge(text, "window_samples").get(service).get("");
    }

    /** service to function to value of stackstream_aggregator_function_SUFFIX ("" for no function label). */
    static Map<String, Map<String, Double>> gauge(String text, String suffix) {
        Map<String, Map<String, Double>> out = new TreeMap<>();
        Matcher m = LINE.matcher(text);
        while (m.find()) {
            if (!m.group(1).equals("stackstream_aggregator_function_" + suffix)) {
                continue;
            }
            Map<String, String> labels = new TreeMap<>();
            Matcher l = LABEL.matcher(m.group(2));
            while (l.find()) {
                labels.put(l.group(1), l.group(2));
            }
            out.computeIfAbsent(labels.get("service"), k -> new TreeMap<>())
                    .put(labels.getOrDefault("function", ""), Double.parseDouble(m.group(3)));
        }
        return out;
    }

    private static void assertShare(Map<String, Double> expected, Map<String, Double> actual, String what) {
        assertEquals(new TreeSet<>(expected.keySet()), actual == null ? Set.of() : actual.keySet(), what);
        expected.forEach((f, v) -> assertEquals(v, actual.get(f), MARGIN, what + " of " + f));
    }

    private static void assertPromtoolAccepts(String exposition) throws Exception {
        String promtool = RequiredTools.require("/usr/bin/promtool", "install Debian's prometheus package").toString();
        Process p = new ProcessBuilder(promtool, "check", "metrics").redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(exposition.getBytes(StandardCharsets.UTF_8));
        }
        String lint = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool finished");
        assertEquals(0, p.exitValue(), lint);
    }
}
