package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.aggregator.engine.DeadLetters;
import dev.stackstream.aggregator.engine.IngestLimits;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.command.ExitStatus;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Stack;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.StackCount;
import dev.stackstream.wire.StackId;
import dev.stackstream.wire.WireCodec;
import dev.stackstream.wire.WireModel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * The per-service and per-window bounds as options of the {@code aggregator} command: non-default
 * values reach the running pipeline (the command in its own JVM on the real broker, real Streams
 * state), and 0, negative or oversized values are refused naming the option, before anything starts.
 */
class LimitOptionsTest {
    // Four stacks: a window of "many" stays under the 5 entries per bucket that "wide" tests.
    private static final Workload WORK = new Workload(4);

    @Test
    void nonDefaultLimitsTakeEffectThroughTheRunningPipeline() throws Exception {
        String bootstrap = SharedKafka.get().bootstrapServers();
        ForkedAggregator aggregator = ForkedAggregator.withNewTopics(bootstrap, "limits",
                "--max-series-per-service", "3", "--max-stacks-per-bucket", "5", "--max-frames-per-stack", "10",
                "--max-labels", "2");
        long now = System.currentTimeMillis();
        Instant base = Instant.ofEpochMilli(now - now % 10_000 - 5L * 60_000);
        Map<String, Long> many = new TreeMap<>();
        Stack deep = deepStack(30);
        try (KafkaProducer<byte[], byte[]> p = TestKafka.producer(bootstrap)) {
            TestKafka.sendStacks(p, "limits-stacks", WORK.stacks);
            p.send(new ProducerRecord<>("limits-stacks", deep.id().toBytes(),
                    WireCodec.encode(WireModel.toDefinition(deep))));
            // Five label sets of one service: three series, the rest in its overflow series.
            for (int seq = 0; seq < 5; seq++) {
                TestKafka.sendBatch(p, "limits-samples", WORK.batch("many", Map.of("req", "r" + seq), 1, "many-1", seq,
                        base, base.plusSeconds(10)));
                WORK.addExpected(many, 1, seq);
            }
            // Eight stacks in one bucket: five entries at most, the smallest summed into [other].
            SampleBatch wide = WORK.batch("wide", Map.of("pod", "w"), 1, "wide-1", 0, base, base.plusSeconds(10));
            List<StackCount> entries = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                entries.add(new StackCount(new StackId(ByteBuffer.allocate(16).putLong(9).putLong(i).array()),
                        1L + i, null, null));
            }
            wide.setEntries(entries);
            TestKafka.sendBatch(p, "limits-samples", wide);
            SampleBatch deepWindow = WORK.batch("deep", Map.of("pod", "d"), 1, "deep-1", 0, base, base.plusSeconds(10));
            deepWindow.setEntries(List.of(new StackCount(WireModel.toWire(deep.id()), 7L, null, null)));
            TestKafka.sendBatch(p, "limits-samples", deepWindow);
            // Three labels where two are allowed: dead-lettered.
            TestKafka.sendBatch(p, "limits-samples", WORK.batch("labelled", Map.of("a", "1", "b", "2", "c", "3"), 1,
                    "labels-1", 0, base, base.plusSeconds(10)));
            p.flush();
        }
        Process process = aggregator.start();
        try {
            int port = aggregator.httpPort();
            String range = "&format=collapsed&from=" + enc(base.minusSeconds(60).toString()) + "&to="
                    + enc(base.plusSeconds(60).toString());
            String[] last = {""};
            try {
                await(Duration.ofSeconds(120), "every window counted", () -> {
                    HttpResponse<String> deepAnswer = TestKafka.get(port, "/api/v1/profile?service=deep" + range);
                    HttpResponse<String> manyAnswer = TestKafka.get(port, "/api/v1/profile?service=many" + range);
                    // its own partition may be ingested later than the others' (a 404 until then)
                    HttpResponse<String> wideAnswer = TestKafka.get(port, "/api/v1/profile?service=wide" + range);
                    last[0] = "deep: " + deepAnswer.statusCode() + " " + deepAnswer.body() + "; many: "
                            + manyAnswer.statusCode() + " " + manyAnswer.body() + "; wide: "
                            + wideAnswer.statusCode() + " " + wideAnswer.body();
                    return deepAnswer.statusCode() == 200 && !Workload.parseCollapsed(deepAnswer.body()).isEmpty()
                            && manyAnswer.statusCode() == 200 && many.equals(Workload.parseCollapsed(manyAnswer.body()))
                            && wideAnswer.statusCode() == 200;
                });
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; expected many " + many + ", last answers " + last[0]
                        + " (log " + aggregator.log() + ")", e);
            }

            ObjectMapper json = new ObjectMapper();
            assertEquals(3, json.readTree(TestKafka.get(port, "/api/v1/labels/req/values?service=many").body())
                    .get("values").size(), "label sets kept as series: --max-series-per-service 3");
            assertTrue(TestKafka.get(port, "/api/v1/labels/" + IngestLimits.OVERFLOW_LABEL + "/values?service=many")
                    .body().contains(IngestLimits.OVERFLOW_VALUE));

            Map<String, Long> wide = Workload.parseCollapsed(TestKafka.get(port, "/api/v1/profile?service=wide"
                    + range).body());
            assertTrue(wide.containsKey("[other]") && wide.size() <= 5, "--max-stacks-per-bucket 5: " + wide);
            assertEquals(36L, wide.values().stream().mapToLong(Long::longValue).sum(), "the bucket's total kept");

            StringBuilder kept = new StringBuilder("[truncated]");
            for (int i = 21; i < 30; i++) {
                kept.append(";f").append(i);
            }
            assertEquals(Map.of(kept.toString(), 7L), Workload.parseCollapsed(TestKafka.get(port,
                    "/api/v1/profile?service=deep" + range).body()), "--max-frames-per-stack 10");

            List<ConsumerRecord<byte[], byte[]>> dlq = TestKafka.readAll(bootstrap, "limits-dlq", 1,
                    Duration.ofSeconds(60));
            assertEquals(1, dlq.size(), "dead letters");
            assertEquals("labels-1", new String(dlq.get(0).key(), StandardCharsets.UTF_8));
            assertEquals("limits", new String(dlq.get(0).headers().lastHeader(DeadLetters.REASON_HEADER).value(),
                    StandardCharsets.UTF_8), "--max-labels 2");
        } finally {
            process.destroy();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void zeroNegativeAndOversizedLimitsAreRefusedNamingTheOption() {
        List<String[]> bad = new ArrayList<>();
        for (String option : List.of("--max-series-per-service", "--max-stacks-per-bucket", "--max-frames-per-stack",
                "--max-labels", "--max-label-name-bytes", "--max-label-value-bytes", "--max-service-bytes")) {
            bad.add(new String[] {option, "0"});
            bad.add(new String[] {option, "-1"});
        }
        bad.add(new String[] {"--max-stacks-per-bucket", Integer.toString(IngestLimits.MAX_ENTRIES_PER_BUCKET_LIMIT + 1)});
        bad.add(new String[] {"--max-labels", "65536"});
        bad.add(new String[] {"--max-clock-skew", "0s"});
        bad.add(new String[] {"--max-clock-skew", "-5m"});
        for (String[] b : bad) {
            StringWriter err = new StringWriter();
            picocli.CommandLine cli = ExitStatus.install(new picocli.CommandLine(new AggregatorCommand()));
            cli.setErr(new PrintWriter(err));
            int status = cli.execute("--bootstrap-servers", "127.0.0.1:1", b[0], b[1]);
            String first = err.toString().lines().findFirst().orElse("");
            assertEquals(ExitStatus.USAGE, status, String.join(" ", b) + ": " + err);
            assertTrue(first.contains(b[0]), String.join(" ", b) + " gave: " + first);
        }
    }

    private static Stack deepStack(int frames) {
        List<Frame> f = new ArrayList<>();
        for (int i = 0; i < frames; i++) {
            f.add(Frame.named("f" + i, FrameKind.USER));
        }
        return new Stack(f, false);
    }
}
