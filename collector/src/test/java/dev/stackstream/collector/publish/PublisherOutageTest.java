package dev.stackstream.collector.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.stream.LongStream;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.collector.consume.KafkaProfileReader;
import org.junit.jupiter.api.Test;

/**
 * The broker goes away while windows keep coming: nothing is lost, order is kept. Each test runs
 * its own broker (the shared one must not be disturbed).
 */
class PublisherOutageTest {

    @Test
    void aThirtySecondBrokerOutageMidRunLosesNoWindow() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().mode(EmbeddedKafka.Mode.IN_JVM).start()) {
            PublisherConfig c = WindowPublisherTest.config(kafka.bootstrapServers(), WindowPublisherTest.unique("outage"));
            String collector = WindowPublisherTest.unique("collector");
            int last = 40;
            int maxBufferedDuringOutage = 0;
            String errorDuringOutage = null;
            try (WindowPublisher p = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE)) {
                for (int n = 0; n <= last; n++) {
                    if (n == 5) {
                        assertTrue(p.flush(Duration.ofSeconds(60)), "delivered before the outage");
                        kafka.stop();
                    }
                    if (n == 35) {
                        kafka.restart();
                    }
                    // One window per second, as a sampler with 1-s windows would hand them over.
                    p.publish(SyntheticWindows.window(n), "checkout", Map.of("pod", "p"), collector, n);
                    Thread.sleep(1000);
                    if (n >= 5 && n < 35) {
                        PublisherStats s = p.stats();
                        maxBufferedDuringOutage = Math.max(maxBufferedDuringOutage, s.bufferedWindows());
                        if (s.lastError() != null) {
                            errorDuringOutage = s.lastError();
                        }
                    }
                }
                assertTrue(p.flush(Duration.ofSeconds(90)), "everything delivered after the restart: " + p.stats());
                PublisherStats s = p.stats();
                assertEquals(last + 1, s.publishedWindows());
                assertEquals(0, s.droppedWindows());
            }
            assertTrue(maxBufferedDuringOutage >= 25, "windows were held during the outage: " + maxBufferedDuringOutage);
            assertNotNull(errorDuringOutage, "the outage was noticed");
            KafkaProfileReader.ReadResult r = WindowPublisherTest.reader(kafka.bootstrapServers(), c)
                    .read(collector, last, Duration.ofSeconds(60));
            assertTrue(r.complete(), r.describeMissing());
            assertEquals(LongStream.rangeClosed(0, last).boxed().toList(),
                    r.arrivalOrder().stream().distinct().toList(), "every sequence, in order");
            assertEquals(SyntheticWindows.total(last), r.profile().totalCount(), "totals exact");
            assertEquals(WindowPublisherTest.counts(WindowPublisherTest.mergeLocally(last)),
                    WindowPublisherTest.counts(r.profile()));
        }
    }

    @Test
    void anUnreachableBrokerAtStartIsRetriedUntilOneAppears() throws Exception {
        int port = freePort();
        String bootstrap = "localhost:" + port;
        PublisherConfig c = WindowPublisherTest.config(bootstrap, WindowPublisherTest.unique("late"));
        String collector = WindowPublisherTest.unique("collector");
        try (WindowPublisher p = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE)) {
            for (int n = 0; n < 3; n++) {
                p.publish(SyntheticWindows.window(n), "svc", Map.of(), collector, n);
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
            while (p.stats().lastError() == null && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            PublisherStats waiting = p.stats();
            assertNotNull(waiting.lastError(), "the failure is reported");
            assertEquals(3, waiting.bufferedWindows(), "windows held, none dropped");
            assertEquals(0, waiting.publishedWindows());
            // A broker appears on the address the collector was given.
            try (EmbeddedKafka kafka = EmbeddedKafka.builder().mode(EmbeddedKafka.Mode.FORKED).port(port).start()) {
                assertTrue(p.flush(Duration.ofSeconds(90)), "delivered once the broker is up: " + p.stats());
                p.publish(SyntheticWindows.window(3), "svc", Map.of(), collector, 3);
                assertTrue(p.flush(Duration.ofSeconds(30)));
                KafkaProfileReader.ReadResult r = WindowPublisherTest.reader(kafka.bootstrapServers(), c)
                        .read(collector, 3, Duration.ofSeconds(60));
                assertTrue(r.complete(), r.describeMissing());
                assertEquals(java.util.List.of(0L, 1L, 2L, 3L), r.arrivalOrder().stream().distinct().toList());
                assertEquals(SyntheticWindows.total(3), r.profile().totalCount());
            }
        }
    }

    static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
