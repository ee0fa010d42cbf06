package dev.stackstream.broker;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A KRaft broker (combined broker + controller) in a child JVM: {@code kafka.Kafka server.properties}
 * from this JVM's own class path, so nothing needs installing.
 *
 * <p>The data directory keeps {@code server.properties}, the formatted log directory and the
 * broker's output ({@code broker.log}). A data directory that was used before is reused as is:
 * same cluster id, same controller port, same topics. Readiness is the client port accepting
 * connections, not a log line (log formats change between versions).
 */
final class ForkedBroker implements BrokerBackend {
    private static final Logger LOG = LoggerFactory.getLogger(ForkedBroker.class);
    private static final String PROPERTIES = "server.properties";

    private final Path dataDir;
    private final boolean temporary;
    private final Path propertiesFile;
    private final int port;
    private final Duration startTimeout;
    private final String heap;
    private Process process;

    ForkedBroker(Path dataDir, int port, Map<String, String> overrides, Duration startTimeout,
                 String heap) throws Exception {
        this.temporary = dataDir == null;
        this.dataDir = temporary ? Files.createTempDirectory("stackstream-kafka-") : dataDir;
        Files.createDirectories(this.dataDir);
        this.propertiesFile = this.dataDir.resolve(PROPERTIES);
        this.startTimeout = startTimeout;
        this.heap = heap;
        Properties props = loadOrCreate(port, overrides);
        this.port = Integer.parseInt(props.getProperty("stackstream.client.port"));
        if (!Files.exists(this.dataDir.resolve("logs").resolve("meta.properties"))) {
            format(props);
        }
        launch();
    }

    private Properties loadOrCreate(int requestedPort, Map<String, String> overrides) throws IOException {
        Properties props = new Properties();
        if (Files.exists(propertiesFile)) {
            try (InputStream in = Files.newInputStream(propertiesFile)) {
                props.load(in);
            }
            int previous = Integer.parseInt(props.getProperty("stackstream.client.port"));
            if (requestedPort != 0 && requestedPort != previous) {
                // The controller's address is part of the formatted quorum; only the client port moves.
                props.setProperty("stackstream.client.port", Integer.toString(requestedPort));
                setListeners(props, requestedPort, Integer.parseInt(props.getProperty("stackstream.controller.port")));
            }
        } else {
            int clientPort = requestedPort != 0 ? requestedPort : freePort();
            int controllerPort = freePort();
            props.setProperty("stackstream.client.port", Integer.toString(clientPort));
            props.setProperty("stackstream.controller.port", Integer.toString(controllerPort));
            props.setProperty("stackstream.cluster.id", org.apache.kafka.common.Uuid.randomUuid().toString());
            props.setProperty("process.roles", "broker,controller");
            props.setProperty("node.id", "1");
            props.setProperty("controller.listener.names", "CONTROLLER");
            props.setProperty("inter.broker.listener.name", "PLAINTEXT");
            props.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
            props.setProperty("controller.quorum.bootstrap.servers", "localhost:" + controllerPort);
            props.setProperty("log.dirs", dataDir.resolve("logs").toAbsolutePath().toString());
            setListeners(props, clientPort, controllerPort);
            BrokerDefaults.singleNode().forEach(props::setProperty);
        }
        overrides.forEach(props::setProperty);
        try (OutputStream out = Files.newOutputStream(propertiesFile)) {
            props.store(out, "stackstream single-node KRaft broker (written by EmbeddedKafka)");
        }
        return props;
    }

    private static void setListeners(Properties props, int clientPort, int controllerPort) {
        props.setProperty("listeners", "PLAINTEXT://localhost:" + clientPort + ",CONTROLLER://localhost:" + controllerPort);
        props.setProperty("advertised.listeners", "PLAINTEXT://localhost:" + clientPort);
    }

    private void format(Properties props) throws Exception {
        List<String> command = javaCommand();
        command.add("kafka.tools.StorageTool");
        command.addAll(List.of("format", "--standalone", "-t", props.getProperty("stackstream.cluster.id"),
                "-c", propertiesFile.toString()));
        Process format = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dataDir.resolve("broker.log").toFile()))
                .start();
        if (!format.waitFor(2, TimeUnit.MINUTES) || format.exitValue() != 0) {
            format.destroyForcibly();
            throw new IOException("formatting the broker storage in " + dataDir + " failed; see "
                    + dataDir.resolve("broker.log"));
        }
    }

    private List<String> javaCommand() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + heap);
        command.add("-Xms64m");
        command.add("-XX:+UseSerialGC");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        return command;
    }

    private synchronized void launch() throws Exception {
        List<String> command = javaCommand();
        command.add("kafka.Kafka");
        command.add(propertiesFile.toString());
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dataDir.resolve("broker.log").toFile()))
                .start();
        long deadline = System.nanoTime() + startTimeout.toNanos();
        while (!accepts(port)) {
            if (!process.isAlive()) {
                throw new IOException("the forked Kafka broker exited with status " + process.exitValue()
                        + " before listening on port " + port + "; see " + dataDir.resolve("broker.log"));
            }
            if (System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IOException("the forked Kafka broker did not listen on port " + port + " within "
                        + startTimeout.toSeconds() + " s; see " + dataDir.resolve("broker.log"));
            }
            Thread.sleep(100);
        }
        LOG.debug("forked broker pid {} listening on {}", process.pid(), port);
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("localhost", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free local port", e);
        }
    }

    @Override
    public EmbeddedKafka.Mode mode() {
        return EmbeddedKafka.Mode.FORKED;
    }

    @Override
    public String bootstrapServers() {
        return "localhost:" + port;
    }

    /** The process id of the running broker, or -1. */
    synchronized long pid() {
        return process != null && process.isAlive() ? process.pid() : -1;
    }

    @Override
    public synchronized void stop() throws InterruptedException {
        if (process == null) {
            return;
        }
        // SIGTERM: Kafka's shutdown hook closes the logs cleanly, so the restart needs no recovery.
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
        process = null;
    }

    @Override
    public synchronized void restart() throws Exception {
        stop();
        launch();
    }

    @Override
    public synchronized void close() throws Exception {
        stop();
        if (temporary) {
            deleteTree(dataDir);
        }
    }

    @Override
    public synchronized boolean alive() {
        return process == null || process.isAlive();
    }

    /** The broker's own log file (its stdout and stderr). */
    Path logFile() {
        return dataDir.resolve("broker.log");
    }

    Path dataDir() {
        return dataDir;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

}
