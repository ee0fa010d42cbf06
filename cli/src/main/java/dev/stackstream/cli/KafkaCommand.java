package dev.stackstream.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import dev.stackstream.broker.BrokerStartException;
import dev.stackstream.broker.EmbeddedKafka;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code stackstream kafka}: a local single-node KRaft broker for trying the pipeline out. Runs
 * {@code kafka.Kafka} in a child JVM from stackstream's own class path (nothing to install) with
 * the single-node settings exactly-once needs, and stops it on Ctrl-C / SIGTERM.
 */
@Command(name = "kafka", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Runs a local single-node Kafka broker (KRaft, no ZooKeeper) until Ctrl-C.",
            "For trying things out: one node, no replication, no security."},
        footer = {"", "Exit status: 0 stopped by Ctrl-C/SIGTERM; 1 usage; 2 the broker could not start or died",
            "(its log is broker.log in the data directory)."})
public final class KafkaCommand implements Callable<Integer> {

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
            System.err.println("--port must be 1..65535, got " + port);
            return 1;
        }
        EmbeddedKafka.Builder builder = EmbeddedKafka.builder().mode(EmbeddedKafka.Mode.FORKED).port(port)
                .dataDir(dataDir).forkedHeap(heap);
        brokerProperties.forEach(builder::brokerProperty);
        EmbeddedKafka kafka;
        try {
            kafka = builder.start();
        } catch (BrokerStartException e) {
            System.err.println("stackstream kafka: " + e.getMessage());
            return 2;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            kafka.close();
            stopped.countDown();
        }, "stackstream-kafka-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        System.out.println("Kafka broker listening on " + kafka.bootstrapServers()
                + (dataDir != null ? ", data in " + dataDir.toAbsolutePath() : " (temporary data)"));
        System.out.println("Try: ./stackstream record --bootstrap-servers " + kafka.bootstrapServers()
                + " -- <command>    Ctrl-C stops the broker.");
        while (kafka.alive()) {
            if (stopped.await(1, java.util.concurrent.TimeUnit.SECONDS)) {
                return 0;
            }
        }
        System.err.println("stackstream kafka: the broker process exited"
                + (dataDir != null ? "; see " + dataDir.resolve("broker.log") : ""));
        Runtime.getRuntime().removeShutdownHook(hook);
        kafka.close();
        return 2;
    }
}
