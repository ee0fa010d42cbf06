package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static dev.stackstream.aggregator.TestKafka.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * Scale-out from one aggregator process to three and back to one, with windows arriving during
 * both transitions. After each step every running instance answers the exact totals of everything
 * sent, merged (the service merge), filtered to one pod and forced onto the pod series; and while
 * instances join and leave, a querier asks every running instance about the minutes already
 * complete: each 200 it gets is exactly those minutes' profile (anything else must be a 503 with
 * Retry-After).
 */
class ScaleOutAndInTest {
    private static final Workload WORK = new Workload(12);
    private static final int COLLECTORS = 6;
    /** One phase is one minute: six 10 s windows per collector. */
    private static final int WINDOWS_PER_PHASE = 6;

    private final List<Map<String, Long>> phaseTotals = new CopyOnWriteArrayList<>();
    private final List<Map<String, Long>> phasePod1 = new CopyOnWriteArrayList<>();
    /** Phases every running instance has answered exactly: what the querier may ask about. */
    private final AtomicInteger verified = new AtomicInteger();
    private Instant base;

    @Test
    void oneToThreeAndBackKeepsTotalsExact() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        ForkedAggregator first = ForkedAggregator.withNewTopics(kafka.bootstrapServers(), "elastic");
        ForkedAggregator second = first.peer();
        ForkedAggregator third = first.peer();
        long now = System.currentTimeMillis();
        base = Instant.ofEpochMilli(now - now % 60_000 - 20L * 60_000);
        List<Integer> running = new CopyOnWriteArrayList<>(List.of(first.httpPort()));
        Queue<String> wrong = new ConcurrentLinkedQueue<>();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger unavailable = new AtomicInteger();
        AtomicBoolean querying = new AtomicBoolean(true);
        Process a = first.start();
        Process b = null;
        Process c = null;
        Thread querier = null;
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer(kafka.bootstrapServers())) {
            TestKafka.sendStacks(producer, "elastic-stacks", WORK.stacks);
            await(Duration.ofSeconds(120), "one instance healthy (log " + first.log() + ")",
                    () -> TestKafka.get(first.httpPort(), "/healthz").statusCode() == 200);
            sendPhase(producer, 0, Duration.ZERO);
            assertExact(running, "one instance");

            querier = new Thread(() -> {
                while (querying.get()) {
                    int complete = verified.get();
                    for (int port : running) {
                        check(port, complete, wrong, ok, unavailable);
                    }
                    try {
                        Thread.sleep(200);   // pacing only: a few queries a second per instance
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "querier");
            querier.start();

            // Out to three while windows keep arriving; then each instance owns a partition of its own.
            b = second.start();
            c = third.start();
            running.add(second.httpPort());
            running.add(third.httpPort());
            sendPhase(producer, 1, Duration.ofSeconds(2));
            await(Duration.ofSeconds(150), "three instances each active for a partition (logs " + second.log() + ", "
                    + third.log() + ")", () -> running.stream().allMatch(p -> TestKafka.activePartitions(p, "elastic").size() == 1));
            assertExact(running, "three instances");

            // Back to one: the two newer instances stop in order while windows keep arriving.
            running.remove(Integer.valueOf(second.httpPort()));
            running.remove(Integer.valueOf(third.httpPort()));
            b.destroy();
            c.destroy();
            sendPhase(producer, 2, Duration.ofSeconds(2));
            assertTrue(b.waitFor(60, TimeUnit.SECONDS) && c.waitFor(60, TimeUnit.SECONDS), "the two stopped");
            await(Duration.ofSeconds(150), "one instance active for every partition",
                    () -> TestKafka.activePartitions(first.httpPort(), "elastic").equals(Set.of(0, 1, 2)));
            assertExact(running, "one instance again");
        } finally {
            querying.set(false);
            if (querier != null) {
                querier.join(30_000);
            }
            for (Process p : new Process[] {a, b, c}) {
                if (p != null) {
                    p.destroyForcibly();
                    p.waitFor(30, TimeUnit.SECONDS);
                }
            }
        }
        System.out.printf("scale 1-3-1: %d exact 200s and %d 503s during the transitions%n", ok.get(), unavailable.get());
        assertTrue(wrong.isEmpty(), "answers during the transitions: " + wrong);
        assertTrue(ok.get() > 0, "the querier got full answers during the transitions");
    }

    /** Sends phase k (one minute of windows for every collector), a round of windows every {@code pace}. */
    private void sendPhase(KafkaProducer<byte[], byte[]> producer, int phase, Duration pace) throws InterruptedException {
        Map<String, Long> totals = new TreeMap<>();
        Map<String, Long> pod1 = new TreeMap<>();
        for (int w = 0; w < WINDOWS_PER_PHASE; w++) {
            long seq = (long) phase * WINDOWS_PER_PHASE + w;
            Instant s = base.plusSeconds(10 * seq);
            for (int c = 0; c < COLLECTORS; c++) {
                TestKafka.sendBatch(producer, "elastic-samples", WORK.batch(Workload.Format.V2, "elastic",
                        Map.of("pod", "p" + c), c, "collector-" + c, seq, s, s.plusSeconds(10)));
                WORK.addExpected(totals, c, seq);
                if (c == 1) {
                    WORK.addExpected(pod1, c, seq);
                }
            }
            producer.flush();
            Thread.sleep(pace.toMillis());
        }
        phaseTotals.add(totals);
        phasePod1.add(pod1);
    }

    /** Profile query of phases [0, phases) (whole minutes from base). */
    private String query(int phases, String labels) {
        return "/api/v1/profile?service=elastic&format=collapsed&from=" + enc(base.toString()) + "&to="
                + enc(base.plusSeconds(60L * phases).toString()) + (labels == null ? "" : "&labels=" + enc(labels));
    }

    private static Map<String, Long> sum(List<Map<String, Long>> phases, int n) {
        Map<String, Long> out = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            phases.get(i).forEach((k, v) -> out.merge(k, v, Long::sum));
        }
        return out;
    }

    /** Every running instance answers all phases sent: merged, one pod, and the pod series. */
    private void assertExact(List<Integer> ports, String step) throws InterruptedException {
        int n = phaseTotals.size();
        Map<String, Long> all = sum(phaseTotals, n);
        Map<String, Long> pod1 = sum(phasePod1, n);
        for (int port : ports) {
            await(Duration.ofSeconds(120), step + ": instance " + port + " counted every window", () -> {
                HttpResponse<String> r = TestKafka.get(port, query(n, null));
                return r.statusCode() == 200 && Workload.parseCollapsed(r.body()).equals(all);
            });
            assertEquals(pod1, collapsed(port, query(n, "{pod=\"p1\"}")), step + ": one pod");
            assertEquals(all, collapsed(port, query(n, "{pod=~\"p.*\"}")), step + ": through the pod series");
        }
        verified.set(n);
    }

    /** One query of the complete phases: a 200 must be exact, anything else a 503 with Retry-After. */
    private void check(int port, int complete, Queue<String> wrong, AtomicInteger ok, AtomicInteger unavailable) {
        if (complete < 1) {
            return;
        }
        HttpResponse<String> r;
        try {
            r = TestKafka.get(port, query(complete, null));
        } catch (RuntimeException e) {
            return;   // an instance starting or stopping does not listen: no answer, nothing wrong
        }
        if (r.statusCode() == 200) {
            if (Workload.parseCollapsed(r.body()).equals(sum(phaseTotals, complete))) {
                ok.incrementAndGet();
            } else {
                wrong.add("instance " + port + ": a 200 that is not phases 0.." + (complete - 1));
            }
        } else if (r.statusCode() == 503 && r.headers().firstValue("Retry-After").isPresent()) {
            unavailable.incrementAndGet();
        } else {
            wrong.add("instance " + port + ": " + r.statusCode() + " " + r.body());
        }
    }

    private static Map<String, Long> collapsed(int port, String path) {
        HttpResponse<String> r = TestKafka.get(port, path);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return Workload.parseCollapsed(r.body());
    }
}
