package dev.stackstream.collector.sidecar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import dev.stackstream.broker.SharedKafka;
import dev.stackstream.collector.consume.KafkaProfileReader;
import dev.stackstream.collector.publish.PublishListener;
import dev.stackstream.collector.publish.PublisherConfig;
import dev.stackstream.collector.publish.WindowPublisher;
import dev.stackstream.collector.sampling.ProfileKind;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.command.ExitStatus;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CollectorCommandTest {

    static Path fixture(String name) {
        Path p = Path.of(System.getProperty("stackstream.native.dir", "../native/target/native"), "fixtures", name);
        assertTrue(Files.isExecutable(p), "fixture missing: " + p);
        return p;
    }

    static int run(Map<String, String> env, String... args) {
        CommandLine cl = CollectorMain.commandLine();
        cl.setDefaultValueProvider(new EnvironmentDefaults(env));
        cl.setErr(new PrintWriter(new StringWriter()));
        cl.setOut(new PrintWriter(new StringWriter()));
        return cl.execute(args);
    }

    @Test
    void usageErrorsExitWithTheUsageStatus() {
        assertEquals(ExitStatus.USAGE, run(Map.of(), "--service", "s", "--bootstrap-servers", "localhost:1"),
                "no target");
        assertEquals(ExitStatus.USAGE, run(Map.of(), "--pid", "1", "--cgroup", "/x", "--service", "s",
                "--bootstrap-servers", "localhost:1"), "two targets");
        assertEquals(ExitStatus.USAGE, run(Map.of(), "--pid", "1", "--bootstrap-servers", "localhost:1"), "no service");
        assertEquals(ExitStatus.USAGE, run(Map.of(), "--pid", "1", "--service", "s"), "no bootstrap");
        assertEquals(ExitStatus.USAGE, run(Map.of(), "--process-regex", "(", "--service", "s",
                "--bootstrap-servers", "localhost:1"), "bad regex");
        assertEquals(ExitStatus.USAGE, run(Map.of(), "--pid", "1", "--service", "s", "--bootstrap-servers",
                "localhost:1", "--buffer-bytes", "lots"), "bad size");
        assertEquals(ExitStatus.USAGE, run(Map.of(), "--no-such-flag"));
        assertEquals(ExitStatus.USAGE, run(Map.of(), "--pid", "1", "--service", "s", "--bootstrap-servers",
                "localhost:1", "--unwind", "dwarf"), "bad unwinding");
        assertEquals(ExitStatus.USAGE, run(Map.of(), "--pid", "1", "--service", "s", "--bootstrap-servers",
                "localhost:1", "--stack-bytes", "100"), "stack bytes not a multiple of 8");
    }

    @Test
    void unwindingAndStackCopyReachTheSamplingOptions() {
        CollectorCommand c = new CollectorCommand();
        CommandLine cl = new CommandLine(c);
        cl.setDefaultValueProvider(new EnvironmentDefaults(Map.of("STACKSTREAM_STACK_BYTES", "8192")));
        cl.parseArgs("--pid", "1", "--service", "s", "--bootstrap-servers", "k:9092", "--unwind", "cfi");
        SamplingOptions o = c.config().sampling();
        assertEquals(SamplingOptions.Unwind.CFI, o.unwind());
        assertEquals(8192, o.stackBytes(), "from STACKSTREAM_STACK_BYTES");
        cl.parseArgs("--pid", "1", "--service", "s", "--bootstrap-servers", "k:9092");
        assertEquals(SamplingOptions.Unwind.AUTO, c.config().sampling().unwind(), "auto by default");
    }

    @Test
    void environmentTwinsFillEveryFlag() {
        assertEquals("STACKSTREAM_BOOTSTRAP_SERVERS", EnvironmentDefaults.variableFor("--bootstrap-servers"));
        CollectorCommand c = new CollectorCommand();
        CommandLine cl = new CommandLine(c);
        cl.setDefaultValueProvider(new EnvironmentDefaults(Map.of(
                "STACKSTREAM_PID", "42", "STACKSTREAM_SERVICE", "checkout", "STACKSTREAM_FREQUENCY", "49",
                "STACKSTREAM_LABEL", "team=pay,tier=web", "STACKSTREAM_KAFKA_PROPERTY", "security.protocol=SSL",
                "STACKSTREAM_BOOTSTRAP_SERVERS", "kafka:9092")));
        cl.parseArgs("--frequency", "199");
        assertEquals(42, c.pid);
        assertEquals("checkout", c.service);
        assertEquals(199, c.frequency, "a flag wins over its variable");
        assertEquals(Map.of("team", "pay", "tier", "web"), c.userLabels);
        assertEquals(Map.of("security.protocol", "SSL"), c.kafkaProperties);
        assertEquals("kafka:9092", c.bootstrapServers);
        assertEquals(10.0, c.windowSeconds, "built-in default without a variable");
    }

    /**
     * The collector's Kafka properties come from STACKSTREAM_KAFKA_<PROPERTY> variables, the file of
     * --kafka-config (itself given as STACKSTREAM_KAFKA_CONFIG here) and --kafka-property, in that
     * order of precedence, all the way into the publisher's settings.
     */
    @Test
    void kafkaPropertiesComeFromTheEnvironmentAConfigFileAndFlags(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(file, "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nclient.id=from-file\n");
        Map<String, String> env = Map.of("STACKSTREAM_KAFKA_CONFIG", file.toString(),
                "STACKSTREAM_KAFKA_SASL_MECHANISM", "PLAIN", "STACKSTREAM_KAFKA_SASL_JAAS_CONFIG", "jaas-from-env",
                "STACKSTREAM_KAFKA_LINGER_MS", "7");
        CollectorCommand c = new CollectorCommand();
        CommandLine cl = new CommandLine(c);
        cl.setDefaultValueProvider(new EnvironmentDefaults(env));
        cl.parseArgs("--pid", "1", "--service", "s", "--bootstrap-servers", "kafka:9092", "--kafka-property",
                "client.id=from-flag");
        assertEquals(file, c.kafkaConfig, "--kafka-config from its variable");
        assertEquals(Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512",
                "sasl.jaas.config", "jaas-from-env", "linger.ms", "7", "client.id", "from-flag"),
                c.publisherConfig(env).kafkaProperties(), "flag over file over environment");
    }

    @Test
    void downwardApiVariablesBecomeLabelsAndUserLabelsWin() {
        Map<String, String> labels = TargetLabels.of(Map.of("POD_NAME", "web-7", "POD_NAMESPACE", "shop",
                "NODE_NAME", "n1", "CONTAINER_NAME", "app", "HOSTNAME", "web-7", "PATH", "/bin"),
                Map.of("node", "override", "service", "dropped"));
        assertEquals(Map.of("pod", "web-7", "namespace", "shop", "node", "override", "container", "app",
                "host", "web-7"), labels);
    }

    @Test
    void invalidKafkaConfigurationExitsWithItsStatus() {
        assertEquals(ExitStatus.KAFKA_CONFIG, run(Map.of(), "--pid", "1", "--service", "s", "--bootstrap-servers",
                "localhost:1", "--kafka-property", "compression.type=brotli"));
        assertEquals(ExitStatus.KAFKA_CONFIG, run(Map.of(), "--pid", "1", "--service", "s", "--bootstrap-servers",
                "localhost:1", "--kafka-config", "/nonexistent/client.properties"));
    }

    @Test
    void aMissingTargetExitsWithItsStatus() {
        assertEquals(ExitStatus.TARGET_MISSING, run(Map.of(), "--pid", "999999", "--service", "s",
                "--bootstrap-servers", "localhost:1", "--shutdown-timeout", "1"));
    }

    @Test
    void processRegexAttachesToEveryMatchAndReattachesAfterARestart() throws Exception {
        String bootstrap = SharedKafka.get().bootstrapServers();
        String suffix = "regex-" + System.nanoTime();
        PublisherConfig c = PublisherConfig.builder(bootstrap).samplesTopic("samples-" + suffix)
                .stacksTopic("stacks-" + suffix).topicPartitions(1).build();
        Path calltree = fixture("calltree");
        String collector = "collector-" + suffix;
        try (WindowPublisher publisher = new WindowPublisher(c, collector, Clock.systemUTC(), PublishListener.NONE)) {
            Sidecar sidecar = new Sidecar(CollectorConfig.Target.processes(Pattern.compile(Pattern.quote(calltree + " 1"))),
                    SamplingOptions.builder().frequencyHz(199).build(), List.of(ProfileKind.CPU), Duration.ofMillis(500),
                    Duration.ofMillis(200),
                    "calltree", Map.of("host", "test"), collector, publisher,
                    () -> Symbolizers.create(SymbolizerOptions.defaults()), null, Clock.systemUTC());
            sidecar.start();
            List<Process> runs = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                // The same program started twice (a restart): each run is a new pid to attach to.
                Process p = new ProcessBuilder(calltree.toString(), "1").start();
                runs.add(p);
                assertTrue(p.waitFor(60, TimeUnit.SECONDS));
                Thread.sleep(700);
            }
            sidecar.stop();
            sidecar.awaitStopped();
            assertEquals(2, sidecar.attachments(), "attached to both runs");
            assertTrue(publisher.flush(Duration.ofSeconds(60)));
        }
        KafkaProfileReader.ReadResult r = new KafkaProfileReader(bootstrap, Map.of(), c.samplesTopic(), c.stacksTopic())
                .readAll(collector, Duration.ofSeconds(60));
        assertTrue(r.complete(), r.describeMissing());
        assertTrue(r.profile().totalCount() > 0, "samples of both runs published");
        assertEquals("calltree", r.profile().labels().get("process"), "process label from /proc/PID/comm");
    }

    @Test
    void sigtermFlushesTheCurrentWindowBeforeExit() throws Exception {
        String bootstrap = SharedKafka.get().bootstrapServers();
        String suffix = "sigterm-" + System.nanoTime();
        Process target = new ProcessBuilder(fixture("calltree").toString(), "60").start();
        try {
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                    "-cp", System.getProperty("java.class.path"), CollectorMain.class.getName(),
                    "--pid", Long.toString(target.pid()), "--service", "calltree",
                    "--window", "120", "--bootstrap-servers", bootstrap, "--collector-id", "collector-" + suffix,
                    "--samples-topic", "samples-" + suffix, "--stacks-topic", "stacks-" + suffix));
            Path log = Files.createTempFile("sidecar", ".log");
            Process sidecar = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(log).contains("sampling pid") && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            Thread.sleep(2000);
            sidecar.destroy();  // SIGTERM, mid-window (the window is 120 s)
            assertTrue(sidecar.waitFor(60, TimeUnit.SECONDS), "exits after SIGTERM");
            String output = Files.readString(log);
            assertEquals(143, sidecar.exitValue(), output);
            assertTrue(output.contains("flushing the current window"), output);
            KafkaProfileReader.ReadResult r = new KafkaProfileReader(bootstrap, Map.of(), "samples-" + suffix,
                    "stacks-" + suffix).read("collector-" + suffix, 0, Duration.ofSeconds(60));
            assertTrue(r.complete(), r.describeMissing() + "\n" + output);
            assertTrue(r.profile().totalCount() > 0, "the partial window carries the samples taken");
        } finally {
            target.destroyForcibly();
        }
    }
    @Test
    void outageBufferNeverExceedsAQuarterOfTheHeap() {
        long heap = 40L << 20;
        assertEquals(8L << 20, CollectorCommand.boundedByHeap(8L << 20, heap), "a bound that fits is kept");
        assertEquals(heap / 4, CollectorCommand.boundedByHeap(64L << 20, heap), "64 MiB on a 40 MiB heap is clamped");
        assertEquals(1024, CollectorCommand.boundedByHeap(1L << 30, 1024), "never below the smallest legal bound");
    }
}
