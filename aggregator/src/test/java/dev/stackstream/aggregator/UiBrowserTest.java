package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The web UI in headless Chromium (Debian's chromium) under its own Content-Security-Policy: the
 * page's script runs (the summary is filled in: its hash is in script-src), the flame graph is put
 * into the sandboxed frame, and the browser reports no CSP violation and no script error — the
 * flame graph's own inline script, run inside the srcdoc frame that inherits the page's policy,
 * included.
 */
class UiBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Workload WORK = new Workload(10);

    @Test
    void theUiAndItsFlameGraphRunUnderTheirPolicy() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM), "chromium not installed (Debian package chromium)");
        EmbeddedKafka kafka = SharedKafka.get();
        try (Aggregator a = Aggregator.start(AggregatorConfig.builder(kafka.bootstrapServers())
                .applicationId("agg-ui-" + System.nanoTime()).stateDir(Files.createTempDirectory("agg-ui"))
                .samplesTopic("ui-samples").stacksTopic("ui-stacks").dlqTopic("ui-dlq").topicPartitions(1)
                .httpPort(0).rocksDbMemoryBytes(32L << 20).build(), new SimpleMeterRegistry())) {
            long now = System.currentTimeMillis();
            Instant base = Instant.ofEpochMilli(now - now % 10_000 - 60_000);
            Map<String, Long> expected = new TreeMap<>();
            try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(kafka.bootstrapServers())) {
                TestKafka.sendStacks(p, "ui-stacks", WORK.stacks);
                for (long seq = 0; seq < 3; seq++) {
                    Instant s = base.plusSeconds(10 * seq);
                    TestKafka.sendBatch(p, "ui-samples", WORK.batch("web", Map.of("pod", "a"), 0, "c0", seq, s,
                            s.plusSeconds(10)));
                    WORK.addExpected(expected, 0, seq);
                }
                p.flush();
            }
            String range = "from=" + enc(base.minusSeconds(60).toString()) + "&to=" + enc(base.plusSeconds(60).toString());
            await(Duration.ofSeconds(120), "the windows counted", () -> expected.equals(Workload.parseCollapsed(
                    TestKafka.get(a.httpPort(), "/api/v1/profile?service=web&format=collapsed&" + range).body())));

            Path profileDir = Files.createTempDirectory("chromium-profile");
            Path log = Files.createTempFile("chromium", ".log");
            List<String> cmd = List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--user-data-dir=" + profileDir, "--window-size=1200,900",
                    "--enable-logging=stderr", "--log-level=0", "--virtual-time-budget=30000", "--dump-dom",
                    "http://127.0.0.1:" + a.httpPort() + "/#service=web&" + range);
            Process chromium = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
            String dom = new String(chromium.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(chromium.waitFor(120, TimeUnit.SECONDS), "chromium timed out");
            String console = Files.readString(log);

            String summary = dom.replaceAll("(?s).*<pre id=\"summary\">(.*?)</pre>.*", "$1");
            assertTrue(summary.contains("samples"), "the page's script ran and filled in the summary: " + summary
                    + "\n" + console);
            assertTrue(dom.contains("sandbox=\"allow-scripts\" srcdoc=\""), "the flame graph is in the sandboxed frame");
            assertFalse(console.contains("Content Security Policy") || console.contains("Refused to"),
                    "CSP violations: " + console);
            assertFalse(console.contains("Uncaught"), "script errors: " + console);
        }
    }
}
