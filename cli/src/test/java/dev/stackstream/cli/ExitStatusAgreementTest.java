package dev.stackstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.collector.sidecar.CollectorMain;
import dev.stackstream.command.ExitStatus;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * One exit-status table for every command: each condition below is run through every command that
 * can meet it, the way the launcher runs them (the assembled CLI, and the collector's and render's
 * own entry points), and must end with the same status.
 */
class ExitStatusAgreementTest {

    private record Run(int status, String output) { }

    private static Run run(CommandLine cl, String... args) {
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(out, true));
        return new Run(cl.execute(args), out.toString());
    }

    private static Run cli(String... args) {
        return run(Main.commandLine(), args);
    }

    private static void assertStatus(int expected, Run run, String what) {
        assertEquals(expected, run.status(), what + ":\n" + run.output());
    }

    /** An address where nothing listens. */
    private static String deadAddress() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return "127.0.0.1:" + s.getLocalPort();
        }
    }

    @Test
    void aBadCommandLineIsTheUsageStatusForEveryCommand() {
        for (String command : List.of("record", "collector", "aggregator", "kafka", "demo", "render")) {
            assertStatus(ExitStatus.USAGE, cli(command, "--no-such-option"), command + " --no-such-option");
        }
        assertStatus(ExitStatus.USAGE, cli("record", "--frequency", "many", "--", "true"), "record, malformed value");
        assertStatus(ExitStatus.USAGE, cli("collector", "--pid", "1", "--service", "s", "--bootstrap-servers",
                "localhost:1", "--frequency", "many"), "collector, malformed value");
        assertStatus(ExitStatus.USAGE, cli("aggregator", "--bootstrap-servers", "localhost:1", "--tiers", "10s"),
                "aggregator, malformed value");
        assertStatus(ExitStatus.USAGE, cli("kafka", "--port", "0"), "kafka, out of range");
        assertStatus(ExitStatus.USAGE, cli("demo", "--duration", "0"), "demo, out of range");
        assertStatus(ExitStatus.USAGE, cli("render", "--width", "wide", "in.collapsed"), "render, malformed value");
        // The launcher's own entry points for the sidecar and render.
        assertStatus(ExitStatus.USAGE, run(CollectorMain.commandLine(), "--no-such-option"), "collector entry point");
        assertStatus(ExitStatus.USAGE, run(Main.renderCommandLine(), "--no-such-option"), "render entry point");
    }

    @Test
    void aMissingTargetIsTheSameStatusForTheCollectorAndTheDemo(@TempDir Path dir) {
        String[] collector = {"--pid", "999999", "--service", "s", "--bootstrap-servers", "localhost:1",
            "--shutdown-timeout", "1"};
        List<Supplier<Run>> runs = new ArrayList<>(List.of(
                () -> cli(prepend("collector", collector)),
                () -> run(CollectorMain.commandLine(), collector),
                () -> cli("collector", "--cgroup", dir.resolve("no-such-cgroup").toString(), "--service", "s",
                        "--bootstrap-servers", "localhost:1", "--shutdown-timeout", "1"),
                () -> cli("demo", "--workload", dir.resolve("no-such-program").toString(), "--no-serve")));
        for (Supplier<Run> r : runs) {
            assertStatus(ExitStatus.TARGET_MISSING, r.get(), "missing target");
        }
    }

    @Test
    void anInvalidKafkaConfigurationIsTheSameStatusForTheCollectorAndTheAggregator(@TempDir Path dir)
            throws IOException {
        String bogus = "security.protocol=BOGUS";
        Run collector = cli("collector", "--pid", Long.toString(ProcessHandle.current().pid()), "--service", "s",
                "--bootstrap-servers", "localhost:1", "--kafka-property", bogus);
        assertStatus(ExitStatus.KAFKA_CONFIG, collector, "collector");
        assertTrue(collector.output().contains("security.protocol"), collector.output());
        Path unreadable = dir.resolve("missing-client.properties");
        assertStatus(ExitStatus.KAFKA_CONFIG, cli("collector", "--pid", "1", "--service", "s",
                "--bootstrap-servers", "localhost:1", "--kafka-config", unreadable.toString()), "collector, --kafka-config");
        Run aggregator = cli("aggregator", "--bootstrap-servers", deadAddress(), "--http-port", "0",
                "--state-dir", dir.resolve("state").toString(), "--kafka-property", bogus);
        assertStatus(ExitStatus.KAFKA_CONFIG, aggregator, "aggregator");
        assertTrue(aggregator.output().contains("security.protocol"), aggregator.output());
    }

    @Test
    void kafkaThatDoesNotAnswerIsTheSameStatusForTheCollectorAndTheAggregator(@TempDir Path dir) throws Exception {
        Path calltree = Path.of(System.getProperty("stackstream.native.dir", "../native/target/native"),
                "fixtures", "calltree");
        assertTrue(Files.isExecutable(calltree), "native fixture " + calltree + " is not built");
        Process target = new ProcessBuilder(calltree.toString(), "1").start();
        try {
            // The target ends after a second of CPU; its windows cannot be delivered anywhere.
            Run collector = cli("collector", "--pid", Long.toString(target.pid()), "--service", "calltree",
                    "--bootstrap-servers", deadAddress(), "--window", "0.5", "--shutdown-timeout", "1");
            assertStatus(ExitStatus.KAFKA_UNREACHABLE, collector, "collector, windows undelivered");
            assertTrue(collector.output().contains("undelivered"), collector.output());
        } finally {
            target.destroyForcibly();
        }
        Run aggregator = cli("aggregator", "--bootstrap-servers", deadAddress(), "--http-port", "0",
                "--state-dir", dir.resolve("state").toString(),
                "--kafka-property", "default.api.timeout.ms=2000", "--kafka-property", "request.timeout.ms=1000");
        assertStatus(ExitStatus.KAFKA_UNREACHABLE, aggregator, "aggregator, no broker at start");
        assertTrue(aggregator.output().contains("cannot reach Kafka"), aggregator.output());
    }

    private static String[] prepend(String first, String[] rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
