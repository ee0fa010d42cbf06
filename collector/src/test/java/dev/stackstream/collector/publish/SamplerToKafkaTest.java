package dev.stackstream.collector.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import dev.stackstream.broker.SharedKafka;
import dev.stackstream.collector.Recorder;
import dev.stackstream.collector.consume.KafkaProfileReader;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import org.junit.jupiter.api.Test;

/** The real path: perf sampling of the calltree fixture -> publisher -> broker -> reader. */
class SamplerToKafkaTest {

    @Test
    void whatTheSamplerCountedIsWhatTheReaderReads() throws Exception {
        Path calltree = Path.of(System.getProperty("stackstream.native.dir", "../native/target/native"),
                "fixtures", "calltree");
        assertTrue(Files.isExecutable(calltree), "fixture missing: " + calltree + " (build native first)");
        String bootstrap = SharedKafka.get().bootstrapServers();
        PublisherConfig c = WindowPublisherTest.config(bootstrap, WindowPublisherTest.unique("sampler"));
        String collector = WindowPublisherTest.unique("collector");
        AtomicLong sequence = new AtomicLong();
        ProfileBuilder[] local = new ProfileBuilder[1];
        try (WindowPublisher publisher = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE);
             Symbolizer symbolizer = Symbolizers.create(SymbolizerOptions.defaults())) {
            Recorder recorder = new Recorder(SamplingOptions.builder().frequencyHz(999).build(),
                    Duration.ofMillis(500), null, Clock.systemUTC());
            recorder.recordCommand(List.of(calltree.toString(), "2"), symbolizer, window -> {
                if (local[0] == null) {
                    local[0] = Profile.builder(window.type());
                }
                local[0].merge(WindowPublisher.wireForm(window, c));
                publisher.publish(window, "calltree", Map.of("host", "test"), collector, sequence.getAndIncrement());
            });
            assertTrue(publisher.flush(Duration.ofSeconds(60)), "delivered: " + publisher.stats());
        }
        Profile sampled = local[0].build();
        assertTrue(sampled.totalCount() > 50, "the fixture was sampled: " + sampled.totalCount());
        long last = sequence.get() - 1;
        KafkaProfileReader.ReadResult r = new KafkaProfileReader(bootstrap, Map.of(), c.samplesTopic(), c.stacksTopic())
                .read(collector, last, Duration.ofSeconds(60));
        assertTrue(r.complete(), r.describeMissing());
        Profile read = r.profile();
        assertEquals(sampled.totalCount(), read.totalCount(), "total samples");
        assertEquals(WindowPublisherTest.counts(sampled), WindowPublisherTest.counts(read), "per stack and thread");
        assertEquals(sampled.stats().lost(), read.stats().lost());
        java.util.Set<dev.stackstream.profile.Stack> sampledStacks = new java.util.HashSet<>();
        sampled.samples().forEach(s -> sampledStacks.add(s.stack()));
        for (var s : read.samples()) {
            assertTrue(sampledStacks.contains(s.stack()), "every frame field survives the wire: " + s.stack());
        }
    }
}
