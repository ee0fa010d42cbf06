package dev.stackstream.collector.publish;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.stackstream.broker.SharedKafka;
import dev.stackstream.collector.consume.KafkaProfileReader;
import dev.stackstream.wire.PackedEntries;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.WireCodec;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A client nobody here wrote (kcat, Debian package "kcat") reads what the publisher wrote, and a
 * record it writes is refused with a message by our reader instead of crashing it.
 */
class KcatInteropTest {

    @Test
    void kcatReadsOurRecordsAndOurReaderRefusesKcatsBytes() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/kcat")), "kcat not installed (apt-get install kcat)");
        String bootstrap = SharedKafka.get().bootstrapServers();
        PublisherConfig c = WindowPublisherTest.config(bootstrap, WindowPublisherTest.unique("kcat"));
        String collector = WindowPublisherTest.unique("collector");
        try (WindowPublisher p = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE)) {
            p.publish(SyntheticWindows.window(2), "svc", Map.of(), collector, 0);
            assertTrue(p.flush(Duration.ofSeconds(60)));
        }
        Path value = Files.createTempFile("kcat", ".bin");
        Process read = new ProcessBuilder("kcat", "-b", bootstrap, "-C", "-t", c.samplesTopic(), "-o", "beginning",
                "-c", "1", "-e", "-q", "-f", "%s").redirectOutput(value.toFile()).start();
        assertTrue(read.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, read.exitValue(), new String(read.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        SampleBatch batch = WireCodec.decodeSampleBatch(Files.readAllBytes(value));
        assertEquals(collector, batch.getCollectorId());
        assertEquals(SyntheticWindows.window(2).totalCount(),
                batch.getEntries().stream().mapToLong(e -> e.getCount()).sum()
                        + PackedEntries.of(batch).stream().mapToLong(e -> e.getCount()).sum());

        Process keyRead = new ProcessBuilder("kcat", "-b", bootstrap, "-C", "-t", c.samplesTopic(), "-o", "beginning",
                "-c", "1", "-e", "-q", "-f", "%k").start();
        assertTrue(keyRead.waitFor(60, TimeUnit.SECONDS));
        assertArrayEquals(collector.getBytes(StandardCharsets.UTF_8), keyRead.getInputStream().readAllBytes(),
                "key = collector id");

        // kcat writes a plain-text record with our key: the reader skips it with a reason. librdkafka
        // hashes keys differently from Java's producer (CRC32, not murmur2), so the record is put
        // in the partition that holds this collector's windows, where the reader looks.
        Process partitionRead = new ProcessBuilder("kcat", "-b", bootstrap, "-C", "-t", c.samplesTopic(), "-o",
                "beginning", "-c", "1", "-e", "-q", "-f", "%p").start();
        assertTrue(partitionRead.waitFor(60, TimeUnit.SECONDS));
        String partition = new String(partitionRead.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        Process write = new ProcessBuilder("kcat", "-b", bootstrap, "-P", "-t", c.samplesTopic(), "-p", partition,
                "-K", ":").start();
        write.getOutputStream().write((collector + ":{\"not\":\"avro\"}\n").getBytes(StandardCharsets.UTF_8));
        write.getOutputStream().close();
        assertTrue(write.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, write.exitValue());
        KafkaProfileReader.ReadResult r = WindowPublisherTest.reader(bootstrap, c).readAll(collector, Duration.ofSeconds(60));
        assertEquals(1, r.undecodable(), "kcat's record refused");
        assertTrue(r.complete(), r.describeMissing());
        assertEquals(SyntheticWindows.window(2).totalCount(), r.profile().totalCount());
    }
}
