package dev.stackstream.aggregator;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * The {@code aggregator} command in a JVM of its own, on the test's class path, so that a test can
 * SIGKILL it ({@link Process#destroyForcibly()}) and start it again on the same state directory.
 * Output of every start is appended to one log file. {@link #peer()} gives another instance of the
 * same application, for tests with several processes.
 */
final class ForkedAggregator {
    private final String bootstrapServers;
    private final String applicationId;
    private final String topicPrefix;
    private final List<String> jvmOptions;
    private final List<String> extraArgs;
    private final List<String> command;
    private final Path log;
    private final int httpPort;

    /**
     * @param topicPrefix topics are PREFIX-samples, PREFIX-stacks and PREFIX-dlq
     * @param jvmOptions further options of the JVM (e.g. log levels)
     * @param extraArgs further options of the command
     */
    private ForkedAggregator(String bootstrapServers, String applicationId, String topicPrefix,
                             List<String> jvmOptions, List<String> extraArgs) throws IOException {
        this.bootstrapServers = bootstrapServers;
        this.applicationId = applicationId;
        this.topicPrefix = topicPrefix;
        this.jvmOptions = List.copyOf(jvmOptions);
        this.extraArgs = List.copyOf(extraArgs);
        this.httpPort = freePort();
        this.log = Files.createTempFile("agg-" + topicPrefix, ".log");
        Path stateDir = Files.createTempDirectory("agg-" + topicPrefix + "-state");
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), AggregatorCommand.class.getName(),
                "--bootstrap-servers", bootstrapServers, "--http-port", Integer.toString(httpPort),
                "--state-dir", stateDir.toString(), "--application-id", applicationId,
                "--samples-topic", topicPrefix + "-samples", "--stacks-topic", topicPrefix + "-stacks",
                "--dlq-topic", topicPrefix + "-dlq", "--rocksdb-memory", Long.toString(32L << 20)));
        cmd.addAll(extraArgs);
        this.command = List.copyOf(cmd);
    }

    /**
     * Creates the topics PREFIX-samples, PREFIX-stacks (3 partitions each) and PREFIX-dlq, a state
     * directory, a log file and a free HTTP port for a forked aggregator of its own application id.
     */
    static ForkedAggregator withNewTopics(String bootstrapServers, String topicPrefix, String... extraArgs)
            throws Exception {
        return withNewTopics(bootstrapServers, topicPrefix, List.of(), extraArgs);
    }

    /** As {@link #withNewTopics(String, String, String...)}, with further JVM options for every start. */
    static ForkedAggregator withNewTopics(String bootstrapServers, String topicPrefix, List<String> jvmOptions,
                                          String... extraArgs) throws Exception {
        Properties ap = new Properties();
        ap.put("bootstrap.servers", bootstrapServers);
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(List.of(new NewTopic(topicPrefix + "-samples", 3, (short) 1),
                    new NewTopic(topicPrefix + "-stacks", 3, (short) 1), new NewTopic(topicPrefix + "-dlq", 1, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
        }
        return new ForkedAggregator(bootstrapServers, "agg-" + topicPrefix + "-" + System.nanoTime(), topicPrefix,
                jvmOptions, List.of(extraArgs));
    }

    /**
     * One more instance of the same application (same topics, application id and options): a state
     * directory, log file and HTTP port of its own, so it shares the partitions with this one.
     */
    ForkedAggregator peer() throws IOException {
        return new ForkedAggregator(bootstrapServers, applicationId, topicPrefix, jvmOptions, extraArgs);
    }

    int httpPort() {
        return httpPort;
    }

    /** Where every start's output goes. */
    Path log() {
        return log;
    }

    /** Starts one more instance of the command (the previous one should be gone). */
    Process start() throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
