package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * A forked {@code aggregator} command (started without {@code --instance-id}) that has counted a
 * known workload, then SIGKILLed and restarted on demand while a client polls one profile query:
 * the one procedure {@code RestartAvailabilityTest} asserts on and {@code RestartBench} times.
 *
 * <p>Each {@link #killAndRestart()} records every answer that is neither the exact full profile nor
 * a 503 with {@code Retry-After} (a connection refused while the JVM starts is fine), the time
 * from the restart to the first HTTP answer and to the full answer, and the moments of the restarted
 * process's phases read from its log (their timestamps are the machine's wall clock).
 */
final class RestartTrial implements AutoCloseable {
    private static final Workload WORK = new Workload(20);
    private static final int COLLECTORS = 3;
    private static final int WINDOWS = 40;
    /** Log lines that mark a restart's phases, in the order they happen. */
    private static final Map<String, String> PHASES = phases();

    /**
     * One restart.
     *
     * @param toFirstAnswer seconds from the restart to the first HTTP answer of any status
     * @param toFull seconds from the restart to the exact full answer
     * @param phases seconds from the restart to each phase seen in the log, in log order
     * @param wrong answers that were neither the full profile nor a 503 with Retry-After
     */
    record Restart(double toFirstAnswer, double toFull, Map<String, Double> phases, List<String> wrong) {
    }

    private final ForkedAggregator aggregator;
    private final Map<String, Long> expected = new TreeMap<>();
    private final String query;
    private Process process;

    private RestartTrial(ForkedAggregator aggregator, String query) {
        this.aggregator = aggregator;
        this.query = query;
    }

    /**
     * Creates topics PREFIX-*, writes the workload, starts the aggregator and waits (3 min at most)
     * until it answers the full profile.
     *
     * @param jvmOptions further options of the aggregator's JVM
     * @param extraArgs further options of the command
     */
    static RestartTrial start(String bootstrapServers, String prefix, List<String> jvmOptions, String... extraArgs)
            throws Exception {
        ForkedAggregator aggregator = ForkedAggregator.withNewTopics(bootstrapServers, prefix, jvmOptions, extraArgs);
        long now = System.currentTimeMillis();
        Instant base = Instant.ofEpochMilli(now - now % 10_000 - 20L * 60_000);
        RestartTrial trial = new RestartTrial(aggregator, "/api/v1/profile?service=" + prefix
                + "&format=collapsed&from=" + enc(base.toString())
                + "&to=" + enc(base.plusSeconds(10L * WINDOWS).toString()));
        try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(bootstrapServers)) {
            TestKafka.sendStacks(p, prefix + "-stacks", WORK.stacks);
            for (long seq = 0; seq < WINDOWS; seq++) {
                for (int c = 0; c < COLLECTORS; c++) {
                    Instant s = base.plusSeconds(10 * seq);
                    TestKafka.sendBatch(p, prefix + "-samples", WORK.batch(prefix, Map.of("pod", "p" + c), c,
                            "collector-" + c, seq, s, s.plusSeconds(10)));
                    WORK.addExpected(trial.expected, c, seq);
                }
            }
            p.flush();
        }
        trial.process = aggregator.start();
        String[] last = {"no answer"};
        try {
            await(Duration.ofSeconds(180), "the first start counts every window", () -> {
                HttpResponse<String> r = TestKafka.get(aggregator.httpPort(), trial.query);
                last[0] = r.statusCode() + " " + r.body().length() + " bytes: "
                        + r.body().substring(0, Math.min(300, r.body().length()));
                return trial.expected.equals(Workload.parseCollapsed(r.body()));
            });
        } catch (AssertionError e) {
            trial.close();
            throw new AssertionError(e.getMessage() + "; last answer " + last[0] + " (log: " + aggregator.log() + ")", e);
        }
        return trial;
    }

    /** Where every start's output goes. */
    Path log() {
        return aggregator.log();
    }

    /**
     * SIGKILLs the aggregator (no commit, no checkpoint, no leave-group), starts it again at once on
     * the same state directory and polls the query every 50 ms until the full answer (2 min at most).
     */
    Restart killAndRestart() throws Exception {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        long logStart = Files.size(aggregator.log());
        long restartedWall = System.currentTimeMillis();
        long restarted = System.nanoTime();
        process = aggregator.start();
        List<String> wrong = new ArrayList<>();
        double firstAnswer = -1;
        while (true) {
            if (System.nanoTime() - restarted > TimeUnit.SECONDS.toNanos(120)) {
                throw new AssertionError("no full answer 120 s after a restart (log: " + aggregator.log() + ")");
            }
            HttpResponse<String> r;
            try {
                r = TestKafka.get(aggregator.httpPort(), query);
            } catch (RuntimeException notListeningYet) {
                Thread.sleep(50);
                continue;
            }
            if (firstAnswer < 0) {
                firstAnswer = (System.nanoTime() - restarted) / 1e9;
            }
            if (r.statusCode() == 200) {
                if (expected.equals(Workload.parseCollapsed(r.body()))) {
                    break;
                }
                wrong.add("200 with " + r.body().length() + " bytes");
            } else if (r.statusCode() != 503 || r.headers().firstValue("Retry-After").isEmpty()) {
                wrong.add(r.statusCode() + " " + r.headers().map() + " " + r.body());
            }
            Thread.sleep(50);
        }
        double full = (System.nanoTime() - restarted) / 1e9;
        return new Restart(firstAnswer, full, phasesSince(logStart, restartedWall), wrong);
    }

    /** Seconds from the restart to the first log line of each phase written after {@code logStart}. */
    private Map<String, Double> phasesSince(long logStart, long restartedWall) throws IOException {
        byte[] all = Files.readAllBytes(aggregator.log());
        String text = new String(all, (int) Math.min(logStart, all.length), (int) (all.length - Math.min(logStart,
                all.length)), StandardCharsets.UTF_8);
        LocalTime restartedAt = LocalTime.ofInstant(Instant.ofEpochMilli(restartedWall), ZoneId.systemDefault());
        Map<String, Double> seen = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            for (Map.Entry<String, String> phase : PHASES.entrySet()) {
                if (!seen.containsKey(phase.getKey()) && line.contains(phase.getValue()) && line.length() > 12) {
                    try {
                        long ms = Duration.between(restartedAt, LocalTime.parse(line.substring(0, 12))).toMillis();
                        seen.put(phase.getKey(), (ms < -12 * 3_600_000L ? ms + 86_400_000L : ms) / 1e3);
                    } catch (DateTimeParseException notALogLine) {
                        // a line of the command's own output
                    }
                }
            }
        }
        return seen;
    }

    private static Map<String, String> phases() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("main", " starting (");
        m.put("http", "query API listening");
        m.put("streams-start", "CREATED -> REBALANCING");
        m.put("start-returned", " started: application.server");
        m.put("running", "REBALANCING -> RUNNING");
        return m;
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            process.destroy();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
