package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.aggregator.query.QueryLimits;
import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * Two instances with a bearer token for users, a separate internal token between themselves and a
 * Host allow-list: the fan-out authenticates (full answers from either instance), the internal
 * route refuses everybody else (no token, the user's token), every response carries the security
 * headers, a foreign Host gets a 421, a query past its deadline a 504 and an answer past the
 * response limit a 422, each with a message naming the limit.
 */
class QueryGuardsTest {
    private static final Workload WORK = new Workload(30);
    private static final String USER = "user-token";
    private static final String PEER = "peer-token";
    private static final int RESPONSE_LIMIT = 16 * 1024;

    @Test
    void peersAuthenticateAndQueriesStayWithinTheirBudget() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        // A's ticker: real time, plus one second per reading while the test says so (a query that
        // reads the ticker a few times is then past any deadline of a few seconds, deterministically).
        AtomicBoolean slow = new AtomicBoolean();
        AtomicLong skew = new AtomicLong();
        QueryLimits limitsA = new QueryLimits(Duration.ofSeconds(10), RESPONSE_LIMIT,
                () -> System.nanoTime() + (slow.get() ? skew.addAndGet(1_000_000_000L) : skew.get()));
        AggregatorConfig.Builder common = AggregatorConfig.builder(kafka.bootstrapServers())
                .applicationId("agg-guards-" + System.nanoTime()).samplesTopic("guards-samples")
                .stacksTopic("guards-stacks").dlqTopic("guards-dlq").topicPartitions(4).httpPort(0)
                .rocksDbMemoryBytes(32L << 20).authToken(USER).internalToken(PEER)
                .allowedHosts(Set.of("127.0.0.1", "localhost"));
        try (Aggregator a = Aggregator.start(common.stateDir(Files.createTempDirectory("agg-ga"))
                .queryLimits(limitsA).build(), new SimpleMeterRegistry());
             Aggregator b = Aggregator.start(common.stateDir(Files.createTempDirectory("agg-gb"))
                     .queryLimits(limitsA.withTicker(System::nanoTime)).build(), new SimpleMeterRegistry())) {
            await(Duration.ofSeconds(90), "both instances RUNNING with partitions of their own", () ->
                    a.isRunning() && b.isRunning() && !a.localPartitions().isEmpty() && !b.localPartitions().isEmpty());

            Map<String, Long> expected = new TreeMap<>();
            long now = System.currentTimeMillis();
            Instant base = Instant.ofEpochMilli(now - now % 10_000 - 60_000);
            try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(kafka.bootstrapServers())) {
                TestKafka.sendStacks(p, "guards-stacks", WORK.stacks);
                for (int c = 0; c < 8; c++) {
                    for (long seq = 0; seq < 5; seq++) {
                        Instant s = base.plusSeconds(10 * seq);
                        TestKafka.sendBatch(p, "guards-samples", WORK.batch("shop", Map.of("pod", "pod-" + c), c,
                                "collector-" + c, seq, s, s.plusSeconds(10)));
                        WORK.addExpected(expected, c, seq);
                    }
                }
                p.flush();
            }
            String range = "service=shop&from=" + enc(base.minusSeconds(60).toString()) + "&to="
                    + enc(base.plusSeconds(120).toString());
            String collapsed = "/api/v1/profile?format=collapsed&" + range;
            // Full answers from both: each instance's half came from its peer over the internal token.
            await(Duration.ofSeconds(150), "both instances answer every window", () ->
                    Workload.parseCollapsed(TestKafka.get(a.httpPort(), collapsed, USER).body()).equals(expected)
                            && Workload.parseCollapsed(TestKafka.get(b.httpPort(), collapsed, USER).body())
                            .equals(expected));

            String internal = "/api/v1/internal/partial?service=shop&labels=&from_ms=0&to_ms=" + now
                    + "&step_ms=0&max_tier=2";
            assertEquals(401, TestKafka.get(b.httpPort(), internal).statusCode(), "internal route without a token");
            assertEquals(401, TestKafka.get(b.httpPort(), internal, USER).statusCode(),
                    "internal route with the users' token");
            assertEquals(200, TestKafka.get(b.httpPort(), internal, PEER).statusCode());
            assertEquals(401, TestKafka.get(b.httpPort(), "/api/v1/internal/series").statusCode());
            assertEquals(401, TestKafka.get(b.httpPort(), "/api/v1/services", PEER).statusCode(),
                    "the peers' token is not a user's");

            // Security headers on every kind of response.
            for (String path : new String[] {"/", "/healthz", "/api/v1/services", "/no/such/page",
                    "/api/v1/profile?format=svg&" + range}) {
                HttpResponse<String> r = TestKafka.get(a.httpPort(), path, USER);
                assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElse(null), path);
                assertEquals("no-referrer", r.headers().firstValue("Referrer-Policy").orElse(null), path);
                String csp = r.headers().firstValue("Content-Security-Policy").orElse("");
                assertTrue(csp.contains("frame-ancestors 'none'"), path + ": " + csp);
            }
            HttpResponse<String> unauthorized = TestKafka.get(a.httpPort(), "/api/v1/services");
            assertEquals(401, unauthorized.statusCode());
            assertTrue(unauthorized.headers().firstValue("Content-Security-Policy").isPresent());
            String ui = TestKafka.get(a.httpPort(), "/").headers().firstValue("Content-Security-Policy").orElseThrow();
            String scripts = ui.replaceAll(".*script-src ([^;]*);.*", "$1");
            assertTrue(scripts.startsWith("'sha256-") && !scripts.contains("unsafe"), ui);
            String html = TestKafka.get(a.httpPort(), "/api/v1/profile?format=html&timeout=30s&" + range, USER)
                    .headers().firstValue("Content-Security-Policy").orElseThrow();
            assertTrue(html.contains("sandbox allow-scripts"), html);
            String page = TestKafka.get(a.httpPort(), "/").body();
            assertTrue(page.contains("<iframe id=\"flame\" title=\"flame graph\" sandbox=\"allow-scripts\">"), page);

            // Host allow-list: a rebinding page's name is refused, the listed names served.
            String foreign = rawGet(a.httpPort(), "/api/v1/services", "rebind.attacker.example");
            assertTrue(foreign.startsWith("HTTP/1.1 421"), foreign);
            assertTrue(foreign.contains("--allowed-hosts") && foreign.contains("nosniff"), foreign);
            assertTrue(rawGet(a.httpPort(), "/healthz", "localhost:" + a.httpPort()).startsWith("HTTP/1.1 200"));

            // Deadline: the walk stops at it with a 504 that names it.
            slow.set(true);
            HttpResponse<String> late = TestKafka.get(a.httpPort(), collapsed + "&timeout=3s", USER);
            slow.set(false);
            assertEquals(504, late.statusCode(), late.body());
            assertTrue(late.body().contains("deadline of 3s"), late.body());
            HttpResponse<String> badTimeout = TestKafka.get(a.httpPort(), collapsed + "&timeout=soon", USER);
            assertEquals(400, badTimeout.statusCode());
            assertTrue(badTimeout.body().contains("\"parameter\":\"timeout\""), badTimeout.body());

            // Response limit: the SVG is larger than 16 KiB, the collapsed form is not.
            HttpResponse<String> big = TestKafka.get(a.httpPort(), "/api/v1/profile?format=svg&" + range, USER);
            assertEquals(422, big.statusCode(), big.body());
            assertTrue(big.body().contains("response limit of " + RESPONSE_LIMIT + " bytes"), big.body());
            HttpResponse<String> small = TestKafka.get(a.httpPort(), collapsed, USER);
            assertEquals(200, small.statusCode());
            assertEquals(expected, Workload.parseCollapsed(small.body()));
            assertFalse(small.body().isEmpty());
        }
    }

    /** A GET with the Host header given (java.net.http will not send a chosen Host). */
    private static String rawGet(int port, String path, String host) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + USER
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
