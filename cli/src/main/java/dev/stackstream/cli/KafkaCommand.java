package dev.stackstream.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.stackstream.broker.BrokerStartException;
import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.command.CommandFailure;
import dev.stackstream.command.ExitStatus;
import dev.stackstream.command.StopOnSignal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code stackstream kafka}: a local single-node KRaft broker for trying the pipeline out. Runs
 * {@code kafka.Kafka} in a child JVM from stackstream's own class path (nothing to install) with
 * the single-node settings exactly-once needs, and stops it on Ctrl-C / SIGTERM.
 */
@Command(name = "kafka", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Runs a local single-node Kafka broker (KRaft, no ZooKeeper) until Ctrl-C.",
            "For trying things out: one node, no replication, no security."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:stopped by Ctrl-C/SIGTERM (the JVM reports 130/143 once the broker stopped)",
            "1:the broker could not start or died (its log is broker.log in the data directory)", "2:bad option"})
public final class KafkaCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--port", defaultValue = "9092", description = "Client port (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Keep the broker's data here and reuse it next time (default: a temporary directory,"
                    + " deleted on exit).")
    Path dataDir;

    @Option(names = "--broker-property", paramLabel = "KEY=VALUE",
            description = "Any broker configuration (repeatable), e.g. log.retention.hours=1.")
    Map<String, String> brokerProperties = new LinkedHashMap<>();

    @Option(names = "--heap", defaultValue = "384m", description = "Broker JVM heap, as for -Xmx (default ${DEFAULT-VALUE}).")
    String heap;

    @Override
    public Integer call() throws InterruptedException {
        if (port < 1 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port must be 1..65535, got " + port);
        }
        EmbeddedKafka.Builder builder = EmbeddedKafka.builder().mode(EmbeddedKafka.Mode.FORKED).port(port)
                .dataDir(dataDir).forkedHeap(heap);
        brokerProperties.forEach(builder::brokerProperty);
        EmbeddedKafka kafka;
        try {
            kafka = builder.start();
        } catch (BrokerStartException e) {
            throw new CommandFailure(ExitStatus.FAILURE, e.getMessage(), e);
        }
        CountDownLatch stopRequested = new CountDownLatch(1);
        try (StopOnSignal signal = StopOnSignal.install("stackstream-kafka-stop", stopRequested::countDown,
                     Duration.ofSeconds(60));
             EmbeddedKafka running = kafka) {
            System.out.println("Kafka broker listening on " + running.bootstrapServers()
                    + (dataDir != null ? ", data in " + dataDir.toAbsolutePath() : " (temporary data)"));
            System.out.println("Try: ./stackstream record --bootstrap-servers " + running.bootstrapServers()
                    + " -- <command>    Ctrl-C stops the broker.");
            while (running.alive()) {
                if (stopRequested.await(1, TimeUnit.SECONDS)) {
                    return ExitStatus.OK;
                }
            }
            throw new CommandFailure(ExitStatus.FAILURE, "the broker process exited"
                    + (dataDir != null ? "; see " + dataDir.resolve("broker.log") : ""));
        }
    }
}
