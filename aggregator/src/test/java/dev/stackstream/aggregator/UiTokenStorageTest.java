package dev.stackstream.aggregator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.broker.SharedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The UI keeps the bearer token in the tab's session storage, and in the browser's local storage
 * only while "Remember" is ticked: headless Chromium, driven through its DevTools protocol, types
 * the token, submits the form and ticks and unticks the box as a user would; the storages are read
 * after each step, and a reload finds the remembered token.
 */
class UiTokenStorageTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final String TOKEN = "ui-secret-token";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Workload WORK = new Workload(5);

    @Test
    void theTokenIsInLocalStorageOnlyWhileRememberIsTicked() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM), "chromium not installed (Debian package chromium)");
        String bootstrap = SharedKafka.get().bootstrapServers();
        String name = "ui-token-" + System.nanoTime();
        try (Aggregator a = Aggregator.start(AggregatorConfig.builder(bootstrap).applicationId(name)
                .stateDir(Files.createTempDirectory(name)).samplesTopic(name + "-samples").stacksTopic(name + "-stacks")
                .dlqTopic(name + "-dlq").topicPartitions(1).httpPort(0).authToken(TOKEN).rocksDbMemoryBytes(32L << 20)
                .build(), new SimpleMeterRegistry());
             KafkaProducer<byte[], byte[]> p = TestKafka.producer(bootstrap)) {
            long now = System.currentTimeMillis();
            Instant base = Instant.ofEpochMilli(now - now % 10_000 - 60_000);
            TestKafka.sendStacks(p, name + "-stacks", WORK.stacks);
            TestKafka.sendBatch(p, name + "-samples", WORK.batch("web", Map.of("pod", "a"), 0, "c0", 0, base,
                    base.plusSeconds(10)));
            p.flush();
            TestKafka.await(Duration.ofSeconds(120), "the window counted", () -> TestKafka.get(a.httpPort(),
                    "/api/v1/services", TOKEN).body().contains("web"));
            try (Browser b = Browser.open("http://127.0.0.1:" + a.httpPort() + "/")) {
                steps(b);
            }
        }
    }

    /** The user's steps, the storages read after each. */
    private static void steps(Browser b) throws Exception {
        String storages = "JSON.stringify([localStorage.getItem('stackstream.token'),"
                + " sessionStorage.getItem('stackstream.token')])";
        b.await("typeof keepToken === 'function' && document.readyState === 'complete'");
        b.await("document.getElementById('status').textContent.includes('401')"
                + " || document.getElementById('status').textContent.includes('token')");
        assertEquals("[null,null]", b.eval(storages), "nothing stored before a token is given");

        // Typed, then the field left (its change event): kept for this tab, and the page
        // recovers from the refused first service list.
        b.eval("const t = document.getElementById('token'); t.value = '" + TOKEN + "';"
                + " t.dispatchEvent(new Event('change')); true");
        assertEquals("[null,\"" + TOKEN + "\"]", b.eval(storages), "unticked: the tab's session only");
        b.await("document.getElementById('service').value === 'web'");
        b.await("document.getElementById('summary').textContent.includes('samples')");

        b.eval("document.getElementById('query').requestSubmit(); true");
        assertEquals("[null,\"" + TOKEN + "\"]", b.eval(storages), "submitted unticked: still the session only");

        b.eval("const r = document.getElementById('remember'); r.checked = true;"
                + " r.dispatchEvent(new Event('change')); true");
        assertEquals("[\"" + TOKEN + "\",null]", b.eval(storages), "ticked: local storage");

        b.eval("location.reload(); true");
        b.await("document.readyState === 'complete' && typeof keepToken === 'function'"
                + " && performance.getEntriesByType('navigation')[0].type === 'reload'");
        assertEquals("[\"" + TOKEN + "\",true]", b.eval("JSON.stringify([document.getElementById('token').value,"
                + " document.getElementById('remember').checked])"), "a later visit finds it, box ticked");

        b.eval("const r2 = document.getElementById('remember'); r2.checked = false;"
                + " r2.dispatchEvent(new Event('change')); true");
        assertEquals("[null,\"" + TOKEN + "\"]", b.eval(storages), "unticked: gone from local storage");
    }

    /** Headless Chromium with one page, evaluated in through the DevTools protocol. */
    private static final class Browser implements AutoCloseable {
        private final Process process;
        private final WebSocket socket;
        private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
        private final AtomicInteger ids = new AtomicInteger();

        private Browser(Process process, WebSocket socket) {
            this.process = process;
            this.socket = socket;
        }

        static Browser open(String url) throws Exception {
            Path profile = Files.createTempDirectory("chromium-profile");
            Process p = new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--user-data-dir=" + profile, "--remote-debugging-port=0", "--remote-allow-origins=*", url).start();
            p.getInputStream().close();
            BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
            Pattern listening = Pattern.compile("DevTools listening on ws://([^/]+)/");
            String host = null;
            for (String line = err.readLine(); line != null && host == null; line = err.readLine()) {
                Matcher m = listening.matcher(line);
                if (m.find()) {
                    host = m.group(1);
                }
            }
            if (host == null) {
                p.destroyForcibly();
                throw new AssertionError("chromium printed no DevTools address");
            }
            Thread drain = new Thread(() -> err.lines().forEach(l -> { }), "chromium-stderr");
            drain.setDaemon(true);
            drain.start();
            HttpClient http = HttpClient.newHttpClient();
            String page = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (page == null && System.nanoTime() < deadline) {
                JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create("http://" + host
                        + "/json/list")).build(), HttpResponse.BodyHandlers.ofString()).body());
                for (JsonNode t : targets) {
                    if ("page".equals(t.path("type").asText()) && t.path("url").asText().startsWith(url)) {
                        page = t.path("webSocketDebuggerUrl").asText();
                    }
                }
                Thread.sleep(100);
            }
            assertTrue(page != null, "the page's DevTools target");
            Browser[] self = new Browser[1];
            WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(page), new WebSocket.Listener() {
                private final StringBuilder text = new StringBuilder();

                @Override
                public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    text.append(data);
                    if (last) {
                        self[0].answer(text.toString());
                        text.setLength(0);
                    }
                    w.request(1);
                    return null;
                }
            }).get(30, TimeUnit.SECONDS);
            self[0] = new Browser(p, ws);
            return self[0];
        }

        private void answer(String message) {
            try {
                JsonNode n = JSON.readTree(message);
                CompletableFuture<JsonNode> f = n.has("id") ? pending.remove(n.get("id").asInt()) : null;
                if (f != null) {
                    f.complete(n);
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /** Evaluates expression in the page once its script has run; its value as text. */
        String eval(String expression) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                JsonNode r = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true,
                        "awaitPromise", true));
                JsonNode result = r.path("result");
                boolean ready = !result.has("exceptionDetails");
                if (ready || System.nanoTime() > deadline) {
                    assertTrue(ready, expression + " threw: " + result.path("exceptionDetails"));
                    JsonNode v = result.path("result").path("value");
                    return v.isTextual() ? v.asText() : v.toString();
                }
                Thread.sleep(100);   // the page is still loading
            }
        }

        /** Waits (30 s at most) until condition is true in the page. */
        void await(String condition) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!"true".equals(evalQuietly(condition))) {
                assertTrue(System.nanoTime() < deadline, "timed out waiting for " + condition);
                Thread.sleep(100);
            }
        }

        private String evalQuietly(String expression) throws Exception {
            JsonNode r = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true));
            return r.path("result").has("exceptionDetails") ? null : r.path("result").path("result").path("value")
                    .toString();
        }

        private JsonNode call(String method, Map<String, Object> params) throws Exception {
            int id = ids.incrementAndGet();
            CompletableFuture<JsonNode> f = new CompletableFuture<>();
            pending.put(id, f);
            socket.sendText(JSON.writeValueAsString(Map.of("id", id, "method", method, "params", params)), true)
                    .get(10, TimeUnit.SECONDS);
            return f.get(30, TimeUnit.SECONDS);
        }

        @Override
        public void close() throws Exception {
            socket.abort();
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
