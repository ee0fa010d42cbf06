package dev.stackstream.collector.sidecar;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import dev.stackstream.collector.metrics.CollectorMetrics;
import dev.stackstream.collector.metrics.MetricsServer;
import dev.stackstream.collector.publish.PublishListener;
import dev.stackstream.collector.publish.PublisherConfig;
import dev.stackstream.collector.publish.PublisherStats;
import dev.stackstream.collector.publish.WindowPublisher;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code stackstream collector}: the continuous profiling sidecar. Samples its targets at a low
 * rate, cuts windows, and publishes them to Kafka; see the collector README for deployment.
 */
@Command(name = "collector", mixinStandardHelpOptions = true, sortOptions = false,
        defaultValueProvider = EnvironmentDefaults.class,
        exitCodeOnInvalidInput = ExitCodes.USAGE,
        description = {
            "Continuously profiles a process, the processes matching a pattern, or a cgroup (container),",
            "and publishes one window of stack counts every --window to Kafka.",
            "Every option has an environment variable twin: --bootstrap-servers is",
            "STACKSTREAM_BOOTSTRAP_SERVERS, --kafka-property STACKSTREAM_KAFKA_PROPERTY (k=v,k=v), etc.",
            "A flag wins over its variable."},
        footer = {
            "",
            "Labels from the environment (Kubernetes downward API): POD_NAME->pod, POD_NAMESPACE->namespace,",
            "NODE_NAME->node, CONTAINER_NAME->container, HOSTNAME->host; --label wins.",
            "",
            "Exit status: 0 stopped, or the --pid/--cgroup target ended (SIGTERM: the JVM reports 143 after",
            "the last window was flushed); 1 usage; 2 permission (needs CAP_PERFMON or",
            "kernel.perf_event_paranoid<=2, CAP_SYS_PTRACE for other users' processes); 3 target missing;",
            "4 Kafka client configuration invalid; 5 other sampling failure; 6 windows left undelivered",
            "at shutdown (broker unreachable for longer than --shutdown-timeout)."})
public final class CollectorCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(CollectorCommand.class);

    @Spec
    CommandSpec spec;

    // The target options are checked for exclusivity in target(), not with an ArgGroup: picocli
    // applies environment defaults to grouped options only when the group appears on the command
    // line, which would break STACKSTREAM_PID and friends.
    @Option(names = "--pid", description = "Profile this process (all its threads).")
    Integer pid;

    @Option(names = "--process-regex", paramLabel = "REGEX",
            description = "Profile every process whose command line matches (visible in this PID namespace);"
                    + " re-attaches when it restarts.")
    String processRegex;

    @Option(names = "--cgroup", paramLabel = "PATH",
            description = "Profile a whole cgroup v2 (container), e.g. /sys/fs/cgroup/kubepods/... (needs CAP_PERFMON).")
    String cgroup;

    @Option(names = "--all", description = "Profile everything in this cgroup namespace (its root), where allowed.")
    boolean all;

    @Option(names = "--service", description = "Service name the profiles are filed under (required).")
    String service;

    @Option(names = "--label", paramLabel = "KEY=VALUE", split = ",",
            description = "Extra label on every window (repeatable).")
    Map<String, String> userLabels = new LinkedHashMap<>();

    @Option(names = "--frequency", paramLabel = "HZ", defaultValue = "99", description = "Samples per second per CPU-busy thread (default ${DEFAULT-VALUE}).")
    int frequency;

    @Option(names = "--window", paramLabel = "SECONDS", defaultValue = "10", description = "Window length (default ${DEFAULT-VALUE}).")
    double windowSeconds;

    @Option(names = "--per-thread", defaultValue = "false", description = "Keep thread names in the counts.")
    boolean perThread;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT", description = "Kafka bootstrap servers (required).")
    String bootstrapServers;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE", split = ",",
            description = "Any Kafka client property, e.g. security.protocol=SSL (repeatable; wins over --kafka-config).")
    Map<String, String> kafkaProperties = new LinkedHashMap<>();

    @Option(names = "--kafka-config", paramLabel = "FILE", description = "Kafka client properties file (TLS, SASL...).")
    Path kafkaConfig;

    @Option(names = "--samples-topic", defaultValue = PublisherConfig.DEFAULT_SAMPLES_TOPIC, description = "Default ${DEFAULT-VALUE}.")
    String samplesTopic;

    @Option(names = "--stacks-topic", defaultValue = PublisherConfig.DEFAULT_STACKS_TOPIC, description = "Compacted; default ${DEFAULT-VALUE}.")
    String stacksTopic;

    @Option(names = "--create-topics", defaultValue = "true", negatable = true, fallbackValue = "true",
            description = "Create absent topics (default ${DEFAULT-VALUE}).")
    boolean createTopics;

    @Option(names = "--buffer-bytes", paramLabel = "BYTES", defaultValue = "8m",
            description = "Bound of windows held while Kafka is unreachable; k/m/g suffixes (default ${DEFAULT-VALUE}: "
                    + "hours of 10 s windows at 99 Hz). At most a quarter of the JVM heap is used; raise -Xmx "
                    + "(STACKSTREAM_JAVA_OPTS) to hold more.")
    String bufferBytes;

    @Option(names = "--wire-format", paramLabel = "v1|v2", defaultValue = "v2",
            description = "SampleBatch encoding: v2 (default) names stacks and threads by per-run indexes bound once;"
                    + " v1 repeats the 16-byte stack id and thread name in every entry, for aggregators released before v2.")
    String wireFormat;

    @Option(names = "--rescan", paramLabel = "SECONDS", defaultValue = "5", description = "/proc scan interval for --process-regex.")
    double rescanSeconds;

    @Option(names = "--shutdown-timeout", paramLabel = "SECONDS", defaultValue = "20",
            description = "On SIGTERM, how long to keep delivering buffered windows (default ${DEFAULT-VALUE}).")
    double shutdownTimeoutSeconds;

    @Option(names = "--collector-id", description = "Identity of this collector run (default host-pid-random).")
    String collectorId;

    @Option(names = "--metrics-port", paramLabel = "PORT", description = "Serve Prometheus metrics on /metrics at this port.")
    Integer metricsPort;

    @Option(names = "--metrics-address", defaultValue = "0.0.0.0", description = "Bind address of the metrics endpoint.")
    String metricsAddress;

    /**
     * The outage buffer lives on the heap: a bound larger than the heap would end in an
     * OutOfMemoryError during a long outage instead of dropping the oldest windows as promised.
     * Keep it to a quarter of the heap and say so.
     */
    static long boundedByHeap(long requested, long maxHeap) {
        long limit = Math.max(1024, maxHeap / 4);
        if (requested <= limit) {
            return requested;
        }
        LOG.warn("--buffer-bytes {} exceeds a quarter of this JVM's {} MiB heap; holding at most {} bytes of windows "
                + "during an outage (raise -Xmx through STACKSTREAM_JAVA_OPTS to hold more)",
                requested, maxHeap >> 20, limit);
        return limit;
    }

    @Override
    public Integer call() {
        Sidecar.Target target = target();
        require(service != null && !service.isBlank(), "--service (or STACKSTREAM_SERVICE) is required");
        require(bootstrapServers != null && !bootstrapServers.isBlank(),
                "--bootstrap-servers (or STACKSTREAM_BOOTSTRAP_SERVERS) is required");
        require(frequency > 0 && frequency <= 10_000, "--frequency must be 1..10000 Hz, got " + frequency);
        require(windowSeconds >= 0.1, "--window must be >= 0.1 s, got " + windowSeconds);
        long buffer = boundedByHeap(parseBytes(bufferBytes), Runtime.getRuntime().maxMemory());
        String id = collectorId != null ? collectorId : defaultCollectorId();

        PublisherConfig config;
        try {
            Map<String, String> props = new LinkedHashMap<>();
            if (kafkaConfig != null) {
                props.putAll(PublisherConfig.readPropertiesFile(kafkaConfig));
            }
            props.putAll(kafkaProperties);
            config = PublisherConfig.builder(bootstrapServers).kafkaProperties(props).samplesTopic(samplesTopic)
                    .stacksTopic(stacksTopic).bufferBytes(buffer).createTopics(createTopics)
                    .wireFormat(parseWireFormat(wireFormat)).build();
        } catch (IOException e) {
            LOG.error("cannot read --kafka-config {}: {}", kafkaConfig, e.toString());
            return ExitCodes.KAFKA_CONFIG;
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Map<String, String> labels = TargetLabels.of(System.getenv(), userLabels);
        CollectorMetrics metrics = metricsPort == null ? null
                : CollectorMetrics.create(Map.of("service", service, "collector", id));
        MetricsServer server = null;
        WindowPublisher publisher;
        try {
            publisher = new WindowPublisher(config, id, Clock.systemUTC(), listener(metrics));
        } catch (KafkaException e) {
            LOG.error("invalid Kafka client configuration: {}{}", e.getMessage(),
                    e.getCause() != null ? " (" + e.getCause().getMessage() + ")" : "");
            return ExitCodes.KAFKA_CONFIG;
        }
        if (metrics != null) {
            metrics.publishing().bindPublisher(publisher);
            try {
                server = MetricsServer.start(new InetSocketAddress(metricsAddress, metricsPort),
                        metrics.scrapeHandler());
                LOG.info("metrics on http://{}:{}/metrics", metricsAddress, server.port());
            } catch (IOException e) {
                LOG.error("cannot serve metrics on {}:{}: {}", metricsAddress, metricsPort, e.toString());
                publisher.close(Duration.ZERO);
                return ExitCodes.USAGE;
            }
        }
        SamplingOptions sampling = SamplingOptions.builder().frequencyHz(frequency).perThread(perThread).build();
        Sidecar sidecar = new Sidecar(target, sampling, Duration.ofMillis(Math.round(windowSeconds * 1000)),
                Duration.ofMillis(Math.round(rescanSeconds * 1000)), service, labels, id, publisher,
                () -> Symbolizers.create(SymbolizerOptions.defaults()), metrics, Clock.systemUTC());
        LOG.info("collector {} for service {} sampling {} at {} Hz, windows of {} s, to {} (labels {})", id, service,
                target.describe(), frequency, windowSeconds, bootstrapServers, labels);

        CountDownLatch finished = new CountDownLatch(1);
        Duration shutdownTimeout = Duration.ofMillis(Math.round(shutdownTimeoutSeconds * 1000));
        Thread hook = new Thread(() -> {
            LOG.info("stopping: flushing the current window");
            sidecar.stop();
            try {
                finished.await(shutdownTimeout.toMillis() + 10_000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "stackstream-collector-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        int code;
        try {
            code = sidecar.run();
            int left = publisher.close(shutdownTimeout);
            PublisherStats s = publisher.stats();
            LOG.info("published {} window(s), dropped {}, {} undelivered", s.publishedWindows(), s.droppedWindows(), left);
            if (code == ExitCodes.OK && left > 0) {
                code = ExitCodes.UNDELIVERED;
            }
        } finally {
            if (server != null) {
                server.close();
            }
            if (metrics != null) {
                metrics.close();
            }
            finished.countDown();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // SIGTERM path: the hook is running and returns now that we finished.
        }
        return code;
    }

    private Sidecar.Target target() {
        CollectorCommand t = this;
        int chosen = (t.pid != null ? 1 : 0) + (t.processRegex != null ? 1 : 0) + (t.cgroup != null ? 1 : 0) + (t.all ? 1 : 0);
        if (chosen != 1) {
            throw new ParameterException(spec.commandLine(), chosen == 0
                    ? "name a target: --pid, --process-regex, --cgroup or --all (or STACKSTREAM_PID...)"
                    : "name only one target: --pid, --process-regex, --cgroup or --all");
        }
        if (t.pid != null) {
            require(t.pid > 0, "--pid must be > 0, got " + t.pid);
            return new Sidecar.Target(t.pid, null, null);
        }
        if (t.cgroup != null) {
            return new Sidecar.Target(null, t.cgroup, null);
        }
        if (t.all) {
            return new Sidecar.Target(null, "/sys/fs/cgroup", null);
        }
        try {
            return new Sidecar.Target(null, null, Pattern.compile(t.processRegex));
        } catch (PatternSyntaxException e) {
            throw new ParameterException(spec.commandLine(), "--process-regex: " + e.getDescription()
                    + " in '" + t.processRegex + "'");
        }
    }

    private static PublishListener listener(CollectorMetrics metrics) {
        return metrics == null ? PublishListener.NONE : metrics.publishing();
    }

    private void require(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    /** {@code 64m} -> 67108864; plain numbers are bytes. */
    long parseBytes(String text) {
        String t = text.trim().toLowerCase(java.util.Locale.ROOT);
        long unit = 1;
        if (t.endsWith("k") || t.endsWith("m") || t.endsWith("g")) {
            unit = switch (t.charAt(t.length() - 1)) {
                case 'k' -> 1024L;
                case 'm' -> 1024L * 1024;
                default -> 1024L * 1024 * 1024;
            };
            t = t.substring(0, t.length() - 1);
        }
        try {
            long v = Long.parseLong(t) * unit;
            require(v >= 1024, "--buffer-bytes must be at least 1k, got " + text);
            return v;
        } catch (NumberFormatException e) {
            throw new ParameterException(spec.commandLine(), "--buffer-bytes: not a size: '" + text + "'");
        }
    }

    static String defaultCollectorId() {
        String host;
        try {
            host = System.getenv().getOrDefault("HOSTNAME", InetAddress.getLocalHost().getHostName());
        } catch (IOException e) {
            host = "localhost";
        }
        byte[] random = new byte[4];
        ThreadLocalRandom.current().nextBytes(random);
        return host + "-" + ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(random);
    }

    private static PublisherConfig.WireFormat parseWireFormat(String text) {
        return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "v1", "1" -> PublisherConfig.WireFormat.V1;
            case "v2", "2" -> PublisherConfig.WireFormat.V2;
            default -> throw new IllegalArgumentException("--wire-format must be v1 or v2, got '" + text + "'");
        };
    }
}
