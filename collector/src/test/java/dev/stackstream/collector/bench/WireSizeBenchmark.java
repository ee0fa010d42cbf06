package dev.stackstream.collector.bench;

import java.io.ByteArrayOutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.collector.Recorder;
import dev.stackstream.collector.publish.PublishListener;
import dev.stackstream.collector.publish.PublisherConfig;
import dev.stackstream.collector.publish.WindowPublisher;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.profile.render.Renderer;
import dev.stackstream.profile.render.Renderers;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Bytes per sample on the wire versus the same windows as gzipped pprof (not a test; run
 * collector/bench/wire-size.sh).
 *
 * <p>Records real windows of a real program (argv after the options) with the sampler, then
 * replays them, cycling with advancing timestamps, as {@code minutes} of 10-s windows through the
 * real publisher (zstd, the stack dictionary) into a broker, and reads the bytes the broker stored
 * for both topics (compressed record batches: what crossed the network, less TCP/request framing).
 * The replay makes 5 minutes of steady state take seconds; because the windows are real recorded
 * ones, stack churn within the recording is real, while the cycle repeats it (a long-running
 * service's steady state).
 *
 * <p>Args: hz recordSeconds minutes cmd...
 */
public final class WireSizeBenchmark {

    public static void main(String[] args) throws Exception {
        int hz = Integer.parseInt(args[0]);
        int recordSeconds = Integer.parseInt(args[1]);
        int minutes = Integer.parseInt(args[2]);
        List<String> command = List.of(args).subList(3, args.length);
        List<Profile> recorded = new ArrayList<>();
        try (Symbolizer symbolizer = Symbolizers.create(SymbolizerOptions.defaults())) {
            Recorder recorder = new Recorder(SamplingOptions.builder().frequencyHz(hz).build(), Duration.ofSeconds(10),
                    Duration.ofSeconds(recordSeconds), Clock.systemUTC());
            recorder.recordCommand(command, symbolizer, w -> {
                if (w.totalCount() > 0) {
                    recorded.add(w);
                }
            });
        }
        int windows = minutes * 6;
        Renderer pprof = Renderers.byFormat("pprof").orElseThrow(() -> new IllegalStateException("no pprof renderer"));
        long samples = 0;
        long pprofBytes = 0;
        long pprofFunctionBytes = 0;
        PublisherConfig wireDefaults = PublisherConfig.builder("unused:1").build();
        Instant t0 = Instant.parse("2026-11-26T00:00:00Z");
        List<Profile> replay = new ArrayList<>();
        for (int n = 0; n < windows; n++) {
            Profile w = recorded.get(n % recorded.size());
            ProfileBuilder b = Profile.builder(w.type()).timeRange(t0.plusSeconds(10L * n), t0.plusSeconds(10L * n + 10))
                    .stats(w.stats());
            for (Sample s : w.samples()) {
                b.add(s);
            }
            Profile shifted = b.build();
            replay.add(shifted);
            samples += shifted.totalCount();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            pprof.render(shifted, RenderOptions.defaults(), out);
            pprofBytes += out.size();
            ByteArrayOutputStream fn = new ByteArrayOutputStream();
            pprof.render(WindowPublisher.wireForm(shifted, wireDefaults), RenderOptions.defaults(), fn);
            pprofFunctionBytes += fn.size();
        }
        long unique = replay.stream().flatMap(p -> p.samples().stream()).map(Sample::stack).distinct().count();
        System.out.printf("command: %s%n", String.join(" ", command));
        System.out.printf("rate %d Hz, %d real windows recorded (%d s), replayed as %d x 10 s windows (%d min)%n",
                hz, recorded.size(), recordSeconds, windows, minutes);
        System.out.printf("samples %d, unique stacks %d%n", samples, unique);
        System.out.printf("pprof (gzipped, one per window): %d B -> %.3f B/sample%n", pprofBytes,
                (double) pprofBytes / samples);
        System.out.printf("pprof of the same windows at function granularity (what the wire carries): %d B -> %.3f B/sample%n",
                pprofFunctionBytes, (double) pprofFunctionBytes / samples);
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().mode(EmbeddedKafka.Mode.IN_JVM).start()) {
            // Both wire formats, same windows, same broker, own topics: before (v1) and after (v2).
            for (PublisherConfig.WireFormat format : PublisherConfig.WireFormat.values()) {
                String suffix = format.name().toLowerCase(java.util.Locale.ROOT);
                PublisherConfig c = PublisherConfig.builder(kafka.bootstrapServers()).samplesTopic("bench-samples-" + suffix)
                        .stacksTopic("bench-stacks-" + suffix).topicPartitions(1).wireFormat(format).build();
                long definitions;
                try (WindowPublisher p = new WindowPublisher(c, "bench", Clock.systemUTC(), PublishListener.NONE)) {
                    for (int n = 0; n < windows; n++) {
                        p.publish(replay.get(n), "bench", Map.of("pod", "bench-7d9f8c6b5-x2x9z", "namespace", "default",
                                "node", "node-1", "container", "app", "host", "bench-7d9f8c6b5-x2x9z"), "bench-collector", n);
                        // One at a time, like a real collector every 10 s: no cross-window batching.
                        p.flush(Duration.ofSeconds(60));
                    }
                    definitions = p.stats().sentDefinitions();
                }
                long samplesBytes;
                long stacksBytes;
                try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                    Map<Integer, Map<String, LogDirDescription>> dirs = admin.describeLogDirs(
                            admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).stream().map(n -> n.id()).toList())
                            .allDescriptions().get(30, TimeUnit.SECONDS);
                    samplesBytes = size(dirs, Set.of(c.samplesTopic()));
                    stacksBytes = size(dirs, Set.of(c.stacksTopic()));
                }
                long wire = samplesBytes + stacksBytes;
                System.out.printf("wire format %s: definitions sent %d; samples topic %d B (%.1f B/window) + stacks topic"
                                + " %d B = %d B -> %.3f B/sample%n", format, definitions, samplesBytes,
                        (double) samplesBytes / windows, stacksBytes, wire, (double) wire / samples);
                System.out.printf("ratio wire %s/pprof: %.3f (vs function-level pprof: %.3f)%n", format,
                        (double) wire / pprofBytes, (double) wire / pprofFunctionBytes);
            }
        }
    }

    private static long size(Map<Integer, Map<String, LogDirDescription>> dirs, Set<String> topics) {
        long total = 0;
        for (Map<String, LogDirDescription> byDir : dirs.values()) {
            for (LogDirDescription d : byDir.values()) {
                for (Map.Entry<TopicPartition, ReplicaInfo> e : d.replicaInfos().entrySet()) {
                    if (topics.contains(e.getKey().topic())) {
                        total += e.getValue().size();
                    }
                }
            }
        }
        return total;
    }

}
