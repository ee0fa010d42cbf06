package dev.stackstream.broker;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node KRaft Kafka broker for {@code record}, {@code demo}, {@code kafka} and tests.
 *
 * <p>{@link Mode#AUTO} picks Testcontainers' Kafka when a Docker engine answers, otherwise a
 * broker inside this JVM from Kafka's test kit; a fixed port or a persistent data directory
 * (which the test kit cannot give) select a forked broker process instead. The log says which
 * one ran. Every mode has the settings a single node needs for exactly-once processing
 * (replication factor and min ISR 1 on the transaction and offsets topics).
 *
 * <p>{@link #stop()} and {@link #restart()} take the broker away and bring it back on the same
 * address with the same data, for outage tests. Thread-safe.
 *
 * <pre>{@code
 * try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
 *     producerProps.put("bootstrap.servers", kafka.bootstrapServers());
 * }
 * }</pre>
 */
public final class EmbeddedKafka implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

    /** What runs the broker. */
    public enum Mode {
        /** Container if Docker answers, else in-JVM; forked when a port or data dir is fixed. */
        AUTO,
        /** Testcontainers' Apache Kafka image (needs a Docker engine). */
        CONTAINER,
        /** Kafka's test kit (KafkaClusterTestKit) in this JVM: fastest start, ephemeral port. */
        IN_JVM,
        /** {@code kafka.Kafka} in a child JVM from this class path: fixed port, persistent data. */
        FORKED
    }

    private final BrokerBackend backend;
    private volatile boolean running = true;

    private EmbeddedKafka(BrokerBackend backend) {
        this.backend = backend;
    }

    /** Starts a broker with the defaults ({@link Mode#AUTO}, ephemeral port, temporary data). */
    public static EmbeddedKafka start() throws BrokerStartException {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Which mode actually runs (never {@link Mode#AUTO}). */
    public Mode mode() {
        return backend.mode();
    }

    /** The client listener, {@code localhost:port}; the same after {@link #restart()}. */
    public String bootstrapServers() {
        return backend.bootstrapServers();
    }

    public boolean isRunning() {
        return running;
    }

    /**
     * False when the broker died by itself (a forked broker process that exited: see its
     * {@code broker.log} in the data directory); stopping it on purpose does not count.
     */
    public boolean alive() {
        return backend.alive();
    }

    /** Takes the broker away (clients see connection failures); port and data are kept. */
    public void stop() {
        try {
            backend.stop();
            running = false;
            LOG.info("Kafka broker ({}) stopped; {} keeps its port and data", mode(), bootstrapServers());
        } catch (Exception e) {
            throw new IllegalStateException("stopping the " + mode() + " broker failed: " + e, e);
        }
    }

    /** Brings a stopped broker back on the same port with the same data (restarts a running one). */
    public void restart() {
        long t0 = System.nanoTime();
        try {
            backend.restart();
            running = true;
            LOG.info("Kafka broker ({}) restarted at {} in {} ms", mode(), bootstrapServers(),
                    (System.nanoTime() - t0) / 1_000_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while restarting the broker", e);
        } catch (Exception e) {
            throw new IllegalStateException("restarting the " + mode() + " broker failed: " + e, e);
        }
    }

    @Override
    public void close() {
        try {
            backend.close();
            running = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warn("closing the {} broker: {}", mode(), e.toString());
        }
    }

    @Override
    public String toString() {
        return "EmbeddedKafka[" + mode() + " " + bootstrapServers() + "]";
    }

    /** Options; every one has a sensible default. */
    public static final class Builder {
        private Mode mode = Mode.valueOf(System.getProperty("stackstream.broker.mode", "AUTO")
                .toUpperCase(java.util.Locale.ROOT));
        private int port;
        private Path dataDir;
        private final Map<String, String> brokerProperties = new LinkedHashMap<>();
        private Duration startTimeout = Duration.ofMinutes(2);
        private String forkedHeap = "384m";

        private Builder() {
        }

        /** Defaults to the system property {@code stackstream.broker.mode}, else AUTO. */
        public Builder mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** Client port; 0 (default) picks a free one. Only the forked broker can take a fixed port. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535, got " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * Where the broker keeps its logs; null (default) is a temporary directory deleted on close.
         * A directory used before is reused with its topics (forked broker).
         */
        public Builder dataDir(Path dataDir) {
            this.dataDir = dataDir;
            return this;
        }

        /** Any broker configuration, applied after the single-node defaults. */
        public Builder brokerProperty(String name, String value) {
            brokerProperties.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return this;
        }

        public Builder startTimeout(Duration timeout) {
            this.startTimeout = Objects.requireNonNull(timeout);
            return this;
        }

        /** Maximum heap of a forked broker, as for -Xmx (default 384m). */
        public Builder forkedHeap(String heap) {
            this.forkedHeap = Objects.requireNonNull(heap);
            return this;
        }

        /** Starts the broker and waits until it accepts clients. */
        public EmbeddedKafka start() throws BrokerStartException {
            Mode chosen = choose();
            long t0 = System.nanoTime();
            try {
                BrokerBackend backend = switch (chosen) {
                    case CONTAINER -> new ContainerBroker(brokerProperties);
                    case IN_JVM -> new TestKitBroker(dataDir, brokerProperties);
                    case FORKED -> new ForkedBroker(dataDir, port, brokerProperties, startTimeout, forkedHeap);
                    case AUTO -> throw new AssertionError("resolved above");
                };
                EmbeddedKafka kafka = new EmbeddedKafka(backend);
                LOG.info("Kafka broker started: {} at {} in {} ms", describe(chosen), kafka.bootstrapServers(),
                        (System.nanoTime() - t0) / 1_000_000);
                return kafka;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BrokerStartException("interrupted while starting the " + chosen + " Kafka broker", e);
            } catch (BrokerStartException e) {
                throw e;
            } catch (Exception | LinkageError e) {
                throw new BrokerStartException("could not start the " + describe(chosen) + ": " + e, e);
            }
        }

        private Mode choose() {
            if (mode != Mode.AUTO) {
                if (mode == Mode.IN_JVM && port != 0) {
                    throw new IllegalArgumentException("the in-JVM test-kit broker always takes an ephemeral"
                            + " port; use Mode.FORKED for port " + port);
                }
                return mode;
            }
            if (port != 0 || dataDir != null) {
                return Mode.FORKED;
            }
            return ContainerBroker.dockerAvailable() ? Mode.CONTAINER : Mode.IN_JVM;
        }

        private static String describe(Mode mode) {
            return switch (mode) {
                case CONTAINER -> "Testcontainers Kafka (" + ContainerBroker.IMAGE + ")";
                case IN_JVM -> "in-JVM KRaft broker (Kafka test kit, no Docker engine found)";
                case FORKED -> "forked KRaft broker process (kafka.Kafka)";
                case AUTO -> "auto";
            };
        }
    }
}
