package dev.stackstream.broker;

import java.nio.file.Path;
import java.util.Map;

import kafka.server.BrokerServer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A KRaft broker inside this JVM, through Kafka's own test kit ({@code KafkaClusterTestKit}).
 *
 * <p>The cluster has one controller node and one separate broker node rather than one combined
 * node: the test kit can only restart a broker whose raft client is not shared with a controller.
 * Stopping shuts the broker down (the controller keeps the metadata); restarting builds a new
 * broker over the same log directories, and the test kit's pre-bound socket factory rebinds the
 * same client port, so producers reconnect to the address they already have.
 */
final class TestKitBroker implements BrokerBackend {
    private final KafkaClusterTestKit cluster;
    private final int brokerId;
    private final String bootstrap;
    private final Path baseDirectory;
    private boolean stopped;

    TestKitBroker(Path baseDirectory, Map<String, String> overrides) throws Exception {
        TestKitNodes.Builder nodes = new TestKitNodes.Builder()
                .setCombined(false)
                .setNumBrokerNodes(1)
                .setNumControllerNodes(1);
        // Our own directory: the test kit's default one is deleted by a JVM shutdown hook that
        // races with a broker still shutting down in another hook (SharedKafka), which floods the
        // log with I/O errors at exit.
        this.baseDirectory = baseDirectory != null ? baseDirectory
                : java.nio.file.Files.createTempDirectory("stackstream-kafka-");
        nodes.setBaseDirectory(this.baseDirectory);
        KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes.build());
        BrokerDefaults.singleNode().forEach(builder::setConfigProp);
        overrides.forEach(builder::setConfigProp);
        KafkaClusterTestKit built = builder.build();
        try {
            built.format();
            built.startup();
            built.waitForReadyBrokers();
        } catch (Exception | Error e) {
            closeQuietly(built);
            throw e;
        }
        this.cluster = built;
        this.brokerId = cluster.brokers().keySet().iterator().next();
        this.bootstrap = cluster.bootstrapServers();
    }

    @Override
    public EmbeddedKafka.Mode mode() {
        return EmbeddedKafka.Mode.IN_JVM;
    }

    @Override
    public String bootstrapServers() {
        return bootstrap;
    }

    @Override
    public synchronized void stop() {
        if (stopped) {
            return;
        }
        BrokerServer broker = cluster.brokers().get(brokerId);
        broker.shutdown();
        broker.awaitShutdown();
        stopped = true;
    }

    @Override
    public synchronized void restart() throws Exception {
        // restartBroker shuts the broker down if it still runs, then starts a new one on the
        // same port and log directories.
        cluster.restartBroker(brokerId, Map.of());
        cluster.waitForReadyBrokers();
        stopped = false;
    }

    @Override
    public void close() throws Exception {
        cluster.close();
        ForkedBroker.deleteTree(baseDirectory);
    }

    private static void closeQuietly(KafkaClusterTestKit kit) {
        try {
            kit.close();
        } catch (Exception ignored) {
            // The start failure is the error worth reporting.
        }
    }
}
