package dev.stackstream.aggregator;

import static dev.stackstream.aggregator.TestKafka.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.aggregator.connect.ProfileTypeIds;
import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.collector.publish.PublisherConfig;
import dev.stackstream.collector.sampling.ProfileKind;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.collector.sidecar.Collector;
import dev.stackstream.collector.sidecar.CollectorConfig;
import dev.stackstream.profile.pprof.PprofProto;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several profile types from one target through the whole pipeline: the collector sidecar samples
 * the sleepspin fixture (100 ms spinning, 100 ms in nanosleep, 10 rounds) as cpu, wall and offcpu at
 * once, publishes to a real broker, and a real aggregator keeps each type as a series of its own and
 * answers {@code type=} queries in every format with the type's units.
 */
class ProfileTypesPipelineTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void cpuWallAndOffCpuOfOneTargetAreSeparateSeriesWithTheirUnits(@TempDir Path dir) throws Exception {
        String suffix = "types-" + System.nanoTime();
        String service = "sleepspin-" + suffix;
        Path report = dir.resolve("sleepspin.txt");
        try (Aggregator aggregator = sampleFixture(dir, suffix, service, "sleepspin",
                List.of("10", "100", report.toString()), SamplingOptions.builder().frequencyHz(999).perThread(false),
                List.of(ProfileKind.CPU, ProfileKind.WALL, ProfileKind.OFF_CPU))) {
            String[] w = Files.readString(report).trim().split("\\s+");
            double spinS = Double.parseDouble(w[1]);
            double dozeS = Double.parseDouble(w[3]);
            int port = aggregator.httpPort();
            String q = "/api/v1/profile?service=" + service + "&from=now-1h&format=collapsed";

            // Wall: every nanosecond of both functions, in 1/999 s counts (rounded per stack and
            // 1 s window: half a count each, a few ms in 2 s), within 3 points of the fixture's clock.
            await(Duration.ofSeconds(60), "the wall series holds the whole run",
                    () -> seconds(TestKafka.get(port, q + "&type=wall").body(), "(spin|doze)", 1_001_001)
                            >= 0.95 * (spinS + dozeS));
            String wall = TestKafka.get(port, q + "&type=wall").body();
            double spinWall = seconds(wall, "spin", 1_001_001);
            double dozeWall = seconds(wall, "doze", 1_001_001);
            assertEquals(100 * spinS / (spinS + dozeS), 100 * spinWall / (spinWall + dozeWall), 3.0,
                    "spin share of wall time: spin " + spinWall + " s, doze " + dozeWall + " s; measured " + spinS
                            + " / " + dozeS);

            // Off-CPU: the time slept is in doze; cpu (the default type): doze barely runs.
            await(Duration.ofSeconds(30), "the offcpu series holds the time slept",
                    () -> seconds(TestKafka.get(port, q + "&type=offcpu").body(), "doze", 1_000) >= 1.0);
            double dozeOff = seconds(TestKafka.get(port, q + "&type=offcpu").body(), "doze", 1_000);
            assertTrue(dozeOff <= dozeS * 1.01, "doze off CPU " + dozeOff + " s of " + dozeS + " s measured");
            String cpu = TestKafka.get(port, q).body();
            double spinCpu = seconds(cpu, "spin", 1_001_001);
            double dozeCpu = seconds(cpu, "doze", 1_001_001);
            assertTrue(spinCpu > 0.2 && dozeCpu < 0.05 * spinCpu, "on CPU: spin " + spinCpu + " s, doze " + dozeCpu);

            JsonNode types = JSON.readTree(TestKafka.get(port, "/api/v1/profile-types?service=" + service).body());
            assertEquals("[cpu/nanoseconds/1001001, offcpu/nanoseconds/1000, wall/nanoseconds/1001001]",
                    describe(types.get("profileTypes")), types.toString());

            PprofProto.Profile pprof = PprofProto.Profile.parseFrom(new GZIPInputStream(new ByteArrayInputStream(
                    TestKafka.getBytes(port, "/api/v1/profile?service=" + service + "&from=now-1h&type=offcpu"
                            + "&format=pprof").body())));
            assertEquals("offcpu", pprof.getStringTable((int) pprof.getSampleType(1).getType()));
            assertEquals("nanoseconds", pprof.getStringTable((int) pprof.getSampleType(1).getUnit()));
            assertEquals(1_000, pprof.getPeriod());
            String speedscope = TestKafka.get(port, q.replace("collapsed", "speedscope") + "&type=wall").body();
            assertTrue(speedscope.contains("\"unit\":\"nanoseconds\"") || speedscope.contains("\"unit\" : \"nanoseconds\""),
                    "speedscope weights in ns");
            String svg = TestKafka.get(port, q.replace("collapsed", "svg") + "&type=offcpu").body();
            assertTrue(svg.contains(service + " offcpu") && svg.contains(" µs, "), "svg title and µs counts");
            String summary = TestKafka.get(port, "/api/v1/summary?service=" + service + "&from=now-1h&type=wall"
                    + "&format=text").body();
            assertTrue(summary.contains("wall (nanoseconds, period 1001001)") && summary.contains("total weight"),
                    summary);
        }
    }

    /**
     * The sidecar samples allocsplit (1 GiB, 70 % of the bytes from hot_alloc) as alloc at the default
     * interval, about every 512 KiB (~2,050 samples): the aggregator keeps its bytes (alloc) and its allocations (alloc-objects) as two series,
     * each estimate within 4 of the standard deviations the fixture computed for it, and Grafana sees
     * them under the memory ids.
     */
    @Test
    void allocBytesAndAllocationsAreTwoSeries(@TempDir Path dir) throws Exception {
        String suffix = "alloc-" + System.nanoTime();
        String service = "allocsplit-" + suffix;
        Path report = dir.resolve("allocsplit.txt");
        try (Aggregator aggregator = sampleFixture(dir, suffix, service, "allocsplit",
                List.of("1024", "524288", report.toString()), SamplingOptions.builder().perThread(false),
                List.of(ProfileKind.ALLOC))) {
            String[] w = Files.readString(report).trim().split("\\s+");
            int port = aggregator.httpPort();
            String q = "/api/v1/profile?service=" + service + "&from=now-1h&format=collapsed";
            double hotBytes = Double.parseDouble(w[2]);
            await(Duration.ofSeconds(60), "the alloc series holds the run",
                    () -> seconds(TestKafka.get(port, q + "&type=alloc").body(), "hot_alloc", 1_000_000_000)
                            >= 0.8 * hotBytes);
            String bytes = TestKafka.get(port, q + "&type=alloc").body();
            double hot = seconds(bytes, "hot_alloc", 1_000_000_000);
            double cold = seconds(bytes, "cold_alloc", 1_000_000_000);
            assertEquals(hotBytes, hot, 4 * Double.parseDouble(w[4]), "hot_alloc bytes");
            assertEquals(Double.parseDouble(w[7]), cold, 4 * Double.parseDouble(w[9]), "cold_alloc bytes");
            await(Duration.ofSeconds(30), "the alloc-objects series",
                    () -> seconds(TestKafka.get(port, q + "&type=alloc-objects").body(), "cold_alloc", 1_000_000_000)
                            > 0);
            String calls = TestKafka.get(port, q + "&type=alloc-objects").body();
            assertEquals(Double.parseDouble(w[1]), seconds(calls, "hot_alloc", 1_000_000_000),
                    4 * Double.parseDouble(w[3]), "hot_alloc calls");
            assertEquals(Double.parseDouble(w[6]), seconds(calls, "cold_alloc", 1_000_000_000),
                    4 * Double.parseDouble(w[8]), "cold_alloc calls");

            JsonNode types = JSON.readTree(TestKafka.get(port, "/api/v1/profile-types?service=" + service).body());
            assertEquals("[alloc-objects/count/1, alloc/bytes/1]", describe(types.get("profileTypes")),
                    types.toString());
            assertEquals("memory:alloc_space:bytes:space:bytes", ProfileTypeIds.byType("alloc").orElseThrow().id());
            assertEquals("memory:alloc_objects:count:space:bytes",
                    ProfileTypeIds.byType("alloc-objects").orElseThrow().id());
            String svg = TestKafka.get(port, q.replace("collapsed", "svg") + "&type=alloc").body();
            assertTrue(svg.contains(service + " alloc") && svg.contains(" bytes, "), "svg title and byte counts");
            String objectsSvg = TestKafka.get(port, q.replace("collapsed", "svg") + "&type=alloc-objects").body();
            assertTrue(objectsSvg.contains(" calls, "), "alloc-objects counts are calls");
        }
    }

    /**
     * Starts an aggregator on topics of its own, then runs a native fixture to its end under a collector
     * sidecar sampling it as {@code profiles}: a shell holds the fixture until the collector is attached,
     * then execs it under the same pid. The aggregator is left running for the caller's queries.
     */
    private static Aggregator sampleFixture(Path dir, String suffix, String service, String fixture,
                                            List<String> args, SamplingOptions.Builder sampling,
                                            List<ProfileKind> profiles) throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        Path exe = Path.of(System.getProperty("stackstream.native.dir", "../native/target/native"),
                "fixtures", fixture).toAbsolutePath();
        assertTrue(Files.isExecutable(exe), "native fixture " + exe);
        Aggregator aggregator = Aggregator.start(AggregatorConfig.builder(kafka.bootstrapServers())
                .applicationId("agg-" + suffix).stateDir(dir.resolve("state"))
                .samplesTopic("samples-" + suffix).stacksTopic("stacks-" + suffix).dlqTopic("dlq-" + suffix)
                .topicPartitions(1).httpPort(0).rocksDbMemoryBytes(32L << 20).build(), new SimpleMeterRegistry());
        try {
            assertTrue(aggregator.awaitRunning(Duration.ofMinutes(1)), "aggregator RUNNING");
            List<String> command = new java.util.ArrayList<>(List.of("sh", "-c", "read go; exec \"$0\" \"$@\"",
                    exe.toString()));
            command.addAll(args);
            Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
            PublisherConfig publisher = PublisherConfig.builder(kafka.bootstrapServers())
                    .samplesTopic("samples-" + suffix).stacksTopic("stacks-" + suffix).topicPartitions(1).build();
            CollectorConfig config = CollectorConfig.builder(CollectorConfig.Target.pid((int) p.pid()), service,
                            publisher)
                    .sampling(sampling.build()).profiles(profiles).window(Duration.ofSeconds(1)).build();
            try (Collector collector = Collector.start(config)) {
                try (OutputStream in = p.getOutputStream()) {
                    in.write("go\n".getBytes(StandardCharsets.UTF_8));
                }
                assertEquals(0, p.waitFor(), fixture + " exit status");
                collector.awaitTermination();
            }
            return aggregator;
        } catch (Exception | AssertionError e) {
            aggregator.close();
            throw e;
        }
    }

    /** Seconds in the collapsed lines whose stack has a frame matching fn, counts of quantumNs each. */
    private static double seconds(String collapsed, String fn, long quantumNs) {
        Pattern frame = Pattern.compile("(^|;)" + fn + "(;|$)");
        long n = 0;
        for (String line : collapsed.split("\n")) {
            int sp = line.lastIndexOf(' ');
            if (sp > 0 && frame.matcher(line.substring(0, sp)).find()) {
                n += Long.parseLong(line.substring(sp + 1).trim());
            }
        }
        return n * (double) quantumNs / 1e9;
    }

    private static String describe(JsonNode types) {
        List<String> out = new java.util.ArrayList<>();
        types.forEach(t -> out.add(t.get("name").asText() + "/" + t.get("unit").asText() + "/" + t.get("period").asLong()));
        out.sort(null);
        return out.toString();
    }
}
