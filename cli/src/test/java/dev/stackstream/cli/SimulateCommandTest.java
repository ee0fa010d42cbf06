package dev.stackstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.aggregator.Aggregator;
import dev.stackstream.aggregator.AggregatorConfig;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.command.ExitStatus;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code simulate} against a real broker and a real aggregator: what it printed is what was counted. */
class SimulateCommandTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Pattern SENT = Pattern.compile("sent (\\d+) windows, (\\d+) entries, (\\d+) samples");

    private record Run(int status, String out) { }

    private static Run simulate(String... args) {
        StringWriter out = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(out, true));
        String[] all = new String[args.length + 1];
        all[0] = "simulate";
        System.arraycopy(args, 0, all, 1, args.length);
        return new Run(cl.execute(all), out.toString());
    }

    @Test
    void whatItPrintsIsWhatTheAggregatorCounts() throws Exception {
        String bootstrap = SharedKafka.get().bootstrapServers();
        String suffix = Long.toString(System.nanoTime());
        AggregatorConfig config = AggregatorConfig.builder(bootstrap).applicationId("agg-sim-" + suffix)
                .samplesTopic("sim-samples-" + suffix).stacksTopic("sim-stacks-" + suffix).dlqTopic("sim-dlq-" + suffix)
                .topicPartitions(3).httpPort(0).rocksDbMemoryBytes(32L << 20)
                .stateDir(Files.createTempDirectory("agg-sim")).build();
        try (Aggregator aggregator = Aggregator.start(config, new SimpleMeterRegistry())) {
            assertTrue(aggregator.awaitRunning(Duration.ofSeconds(90)), "aggregator RUNNING");
            Instant now = Instant.now();
            Run run = simulate("--bootstrap-servers", bootstrap, "--service", "fleet", "--pods", "3", "--stacks", "12",
                    "--from", now.minus(Duration.ofMinutes(10)).toString(), "--to", now.toString(), "--window", "1m",
                    "--rate", "99", "--labels", "zone=a", "--seed", "7", "--samples-topic", config.samplesTopic(),
                    "--stacks-topic", config.stacksTopic());
            assertEquals(ExitStatus.OK, run.status(), run.out());
            Matcher m = SENT.matcher(run.out());
            assertTrue(m.find(), run.out());
            long windows = Long.parseLong(m.group(1));
            long samples = Long.parseLong(m.group(3));
            assertEquals(30, windows, "the 10 whole one-minute windows inside the range, per pod: " + run.out());
            assertEquals(windows * 99 * 60, samples, "each window holds rate x length samples");

            String query = "/api/v1/profile?service=fleet&format=collapsed&from="
                    + enc(now.minus(Duration.ofMinutes(20)).toString()) + "&to=" + enc(now.plusSeconds(60).toString());
            HttpResponse<String> answer = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (System.nanoTime() < deadline) {
                answer = get(aggregator.httpPort(), query);
                if (answer.statusCode() == 200
                        && answer.headers().firstValue("X-Stackstream-Samples").orElse("").equals(Long.toString(samples))) {
                    break;
                }
                Thread.sleep(250);
            }
            assertEquals(200, answer.statusCode(), answer.body());
            assertEquals(Long.toString(samples), answer.headers().firstValue("X-Stackstream-Samples").orElseThrow(),
                    "the aggregator counted every sample simulate sent, once");
            assertEquals("3", answer.headers().firstValue("X-Stackstream-Series").orElseThrow(), "one series per pod");
            Map<String, Long> byStack = new HashMap<>();
            for (String line : answer.body().split("\n")) {
                int sp = line.lastIndexOf(' ');
                byStack.merge(line.substring(0, sp), Long.parseLong(line.substring(sp + 1)), Long::sum);
            }
            assertEquals(12, byStack.size(), "12 distinct stacks");
            double hot = byStack.get("main;serve;handle_request;compute;hot_loop") / (double) samples;
            assertEquals(0.70, hot, 0.001, "the hot path carries 70 %");

            HttpResponse<String> pods = get(aggregator.httpPort(), "/api/v1/labels/pod/values?service=fleet");
            assertEquals("{\"service\":\"fleet\",\"label\":\"pod\",\"values\":[\"fleet-0\",\"fleet-1\",\"fleet-2\"]}",
                    pods.body());
        }
    }

    @Test
    void badOptionsAndAnUnreachableBrokerAreTheTablesStatuses() throws Exception {
        assertEquals(ExitStatus.USAGE, simulate("--bootstrap-servers", "localhost:1", "--service", "s", "--pods", "0").status());
        assertEquals(ExitStatus.USAGE, simulate("--bootstrap-servers", "localhost:1", "--service", "s",
                "--from", "now", "--to", "now-1h").status());
        assertEquals(ExitStatus.USAGE, simulate("--bootstrap-servers", "localhost:1", "--service", "s",
                "--window", "soon").status());
        assertEquals(ExitStatus.USAGE, simulate("--bootstrap-servers", "localhost:1", "--service", "s", "--window", "1m",
                "--from", "2026-01-01T00:00:30Z", "--to", "2026-01-01T00:00:50Z").status(), "no whole window in range");
        assertEquals(ExitStatus.KAFKA_CONFIG, simulate("--bootstrap-servers", "localhost:1", "--service", "s",
                "--kafka-property", "compression.type=nonsense").status());
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Run dead = simulate("--bootstrap-servers", "127.0.0.1:" + port, "--service", "s", "--from", "now-1m",
                "--window", "1m", "--timeout", "2");
        assertEquals(ExitStatus.KAFKA_UNREACHABLE, dead.status(), dead.out());
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
