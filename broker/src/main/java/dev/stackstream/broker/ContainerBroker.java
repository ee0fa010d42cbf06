package dev.stackstream.broker;

import java.util.Map;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * Apache Kafka's own image through Testcontainers, when a Docker engine answers.
 *
 * <p>An outage is a paused container: the mapped port stays the same (a stopped container would
 * get a new one on start), clients see a broker that stops answering, and unpausing brings it back
 * with its data.
 */
final class ContainerBroker implements BrokerBackend {
    /** Overridable with -Dstackstream.kafka.image=...; the default matches the client version. */
    static final String IMAGE = System.getProperty("stackstream.kafka.image", "apache/kafka:4.1.0");

    private final KafkaContainer container;
    private boolean paused;

    ContainerBroker(Map<String, String> overrides) {
        KafkaContainer c = new KafkaContainer(IMAGE);
        BrokerDefaults.singleNode().forEach((k, v) -> c.withEnv(envName(k), v));
        overrides.forEach((k, v) -> c.withEnv(envName(k), v));
        c.start();
        this.container = c;
    }

    /** The apache/kafka image maps KAFKA_FOO_BAR to foo.bar. */
    private static String envName(String property) {
        return "KAFKA_" + property.toUpperCase(java.util.Locale.ROOT).replace('.', '_');
    }

    static boolean dockerAvailable() {
        // Without any hint of an engine, skip Testcontainers' probe: it logs an ERROR listing every
        // strategy it tried, which reads like a failure of ours on machines without Docker.
        boolean hint = System.getenv("DOCKER_HOST") != null
                || java.nio.file.Files.exists(java.nio.file.Path.of("/var/run/docker.sock"))
                || java.nio.file.Files.exists(java.nio.file.Path.of(System.getProperty("user.home"), ".testcontainers.properties"))
                || java.nio.file.Files.exists(java.nio.file.Path.of(System.getProperty("user.home"), ".docker", "run", "docker.sock"));
        if (!hint) {
            return false;
        }
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    @Override
    public EmbeddedKafka.Mode mode() {
        return EmbeddedKafka.Mode.CONTAINER;
    }

    @Override
    public String bootstrapServers() {
        return container.getBootstrapServers();
    }

    @Override
    public synchronized void stop() {
        if (!paused) {
            container.getDockerClient().pauseContainerCmd(container.getContainerId()).exec();
            paused = true;
        }
    }

    @Override
    public synchronized void restart() {
        if (paused) {
            container.getDockerClient().unpauseContainerCmd(container.getContainerId()).exec();
            paused = false;
        }
    }

    @Override
    public void close() {
        container.stop();
    }
}
