package dev.stackstream.collector.sidecar;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import dev.stackstream.collector.publish.PublisherConfig;
import dev.stackstream.collector.sampling.ProfileKind;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.command.CommandFailure;
import dev.stackstream.command.ExitStatus;
import dev.stackstream.command.KafkaClientProperties;
import dev.stackstream.command.StopOnSignal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code stackstream collector}: the continuous profiling sidecar. Samples its targets at a low
 * rate, cuts windows, and publishes them to Kafka; see the collector README for deployment.
 */
@Command(name = "collector", mixinStandardHelpOptions = true, sortOptions = false,
        defaultValueProvider = EnvironmentDefaults.class,
        description = {
            "Continuously profiles a process, the processes matching a pattern, or a cgroup (container),",
            "and publishes one window of stack counts every --window to Kafka.",
            "Every option has an environment variable twin: --bootstrap-servers is",
            "STACKSTREAM_BOOTSTRAP_SERVERS, --kafka-property STACKSTREAM_KAFKA_PROPERTY (k=v,k=v), etc.",
            "A flag wins over its variable."},
        footer = {
            "",
            "Labels from the environment (Kubernetes downward API): POD_NAME->pod,",
            "POD_NAMESPACE->namespace, NODE_NAME->node, CONTAINER_NAME->container,",
            "HOSTNAME->host; --label wins."},
        exitCodeListHeading = "%nExit status (the table of every stackstream command):%n",
        exitCodeList = {
            "0:stopped, or the --pid/--cgroup target ended (SIGTERM: the JVM reports 143 after the last"
                    + " window was flushed)",
            "1:sampling failed", "2:bad option, or the metrics port cannot be bound",
            "3:no permission for perf events (CAP_PERFMON or kernel.perf_event_paranoid<=2; CAP_SYS_PTRACE"
                    + " for other users' processes)",
            "4:the target does not exist", "5:the Kafka client configuration is invalid",
            "6:windows left undelivered at shutdown (Kafka unreachable for longer than --shutdown-timeout)"})
public final class CollectorCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(CollectorCommand.class);
    /**
     * The sidecar's thread rescan: once a second rather than the native 10 times (threads are
     * attached from their FORK records at once; the rescan only backs up lost ones). Each rescan
     * reads /proc/PID/stat and /proc/PID/task, a fixed cost that at 99 Hz was comparable to the
     * samples' own (BENCHMARKS.md, "steady state").
     */
    static final int THREAD_RESCAN_MILLIS = 1000;

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

    @Option(names = "--profile", paramLabel = "TYPE", split = ",", converter = ProfileKindConverter.class,
            description = "Profile type to sample from every target: cpu, wall, offcpu, page-faults or alloc;"
                    + " repeatable (or comma-separated) for several types at once, each a series of its own"
                    + " (default: cpu).")
    List<ProfileKind> profiles;

    @Option(names = "--period", paramLabel = "N", defaultValue = "1",
            description = "page-faults: one sample every N faults (default ${DEFAULT-VALUE}).")
    long period;

    @Option(names = "--alloc-interval", paramLabel = "BYTES", defaultValue = "524288",
            description = "alloc: about one sample every BYTES bytes allocated (Poisson; default ${DEFAULT-VALUE}).")
    long allocIntervalBytes;

    @Option(names = "--window", paramLabel = "SECONDS", defaultValue = "10", description = "Window length (default ${DEFAULT-VALUE}).")
    double windowSeconds;

    @Option(names = "--per-thread", defaultValue = "false", description = "Keep thread names in the counts.")
    boolean perThread;

    @Mixin
    UnwindOptions unwinding = new UnwindOptions();

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT", description = "Kafka bootstrap servers (required).")
    String bootstrapServers;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE", split = ",",
            description = "Any Kafka client property, e.g. security.protocol=SSL (repeatable; wins over --kafka-config"
                    + " and STACKSTREAM_KAFKA_<PROPERTY>; keep secrets out of flags: ps shows them).")
    Map<String, String> kafkaProperties = new LinkedHashMap<>();

    @Option(names = "--kafka-config", paramLabel = "FILE", description = "Kafka client properties file (TLS, SASL"
            + " secrets); wins over STACKSTREAM_KAFKA_<PROPERTY> variables (STACKSTREAM_KAFKA_SASL_JAAS_CONFIG is"
            + " sasl.jaas.config).")
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

    @Option(names = "--wire-format", paramLabel = "compact|legacy", defaultValue = "compact",
            description = "How a window's counts are encoded in its SampleBatch record (schema v4 either way):"
                    + " compact (default; alias v2) names stacks and threads by per-run indexes bound once and sends"
                    + " the service and labels once per run; legacy (alias v1) repeats the 16-byte stack id and thread"
                    + " name in every entry, for aggregators released before schema v2.")
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

    /** Runs the collector until SIGTERM/SIGINT or the end of a --pid/--cgroup target. */
    @Override
    public Integer call() throws Exception {
        CollectorConfig config = config();
        Collector collector;
        try {
            collector = Collector.start(config);
        } catch (IOException metricsEndpoint) {
            throw new CommandFailure(ExitStatus.USAGE, metricsEndpoint.getMessage(), metricsEndpoint);
        }
        Runnable onSignal = () -> {
            LOG.info("stopping: flushing the current window");
            collector.stop();
        };
        Duration wait = config.shutdownTimeout().plusSeconds(10);
        try (StopOnSignal signal = StopOnSignal.install("stackstream-collector-shutdown", onSignal, wait);
             Collector running = collector) {
            running.awaitTermination();
        }
        return ExitStatus.OK;
    }

    /** The options (and their environment twins) as a collector configuration; usage errors throw. */
    CollectorConfig config() {
        CollectorConfig.Target target = target();
        require(service != null && !service.isBlank(), "--service (or STACKSTREAM_SERVICE) is required");
        require(bootstrapServers != null && !bootstrapServers.isBlank(),
                "--bootstrap-servers (or STACKSTREAM_BOOTSTRAP_SERVERS) is required");
        require(frequency > 0 && frequency <= 10_000, "--frequency must be 1..10000 Hz, got " + frequency);
        require(windowSeconds >= 0.1, "--window must be >= 0.1 s, got " + windowSeconds);
        try {
            CollectorConfig.Builder b = CollectorConfig.builder(target, service, publisherConfig(System.getenv()))
                    .labels(userLabels).collectorId(collectorId)
                    .sampling(unwinding.applyTo(SamplingOptions.builder().frequencyHz(frequency).period(period)
                            .allocIntervalBytes(allocIntervalBytes)
                            .perThread(perThread).rescanMillis(THREAD_RESCAN_MILLIS)).build())
                    .profiles(profiles == null || profiles.isEmpty() ? List.of(ProfileKind.CPU) : profiles)
                    .window(seconds(windowSeconds)).rescan(seconds(rescanSeconds))
                    .shutdownTimeout(seconds(shutdownTimeoutSeconds));
            if (metricsPort != null) {
                b.metricsAddress(new InetSocketAddress(metricsAddress, metricsPort));
            }
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** The publisher's settings; Kafka properties from the flags, --kafka-config and STACKSTREAM_KAFKA_* of environment. */
    PublisherConfig publisherConfig(Map<String, String> environment) {
        Map<String, String> props = KafkaClientProperties.resolve(kafkaProperties, kafkaConfig, environment);
        long buffer = boundedByHeap(parseBytes(bufferBytes), Runtime.getRuntime().maxMemory());
        return PublisherConfig.builder(bootstrapServers).kafkaProperties(props).samplesTopic(samplesTopic)
                .stacksTopic(stacksTopic).bufferBytes(buffer).createTopics(createTopics)
                .wireFormat(parseWireFormat(wireFormat)).build();
    }

    private static Duration seconds(double s) {
        return Duration.ofMillis(Math.round(s * 1000));
    }

    private CollectorConfig.Target target() {
        int chosen = (pid != null ? 1 : 0) + (processRegex != null ? 1 : 0) + (cgroup != null ? 1 : 0) + (all ? 1 : 0);
        if (chosen != 1) {
            throw new ParameterException(spec.commandLine(), chosen == 0
                    ? "name a target: --pid, --process-regex, --cgroup or --all (or STACKSTREAM_PID...)"
                    : "name only one target: --pid, --process-regex, --cgroup or --all");
        }
        if (pid != null) {
            require(pid > 0, "--pid must be > 0, got " + pid);
            return CollectorConfig.Target.pid(pid);
        }
        if (cgroup != null || all) {
            return CollectorConfig.Target.cgroup(all ? "/sys/fs/cgroup" : cgroup);
        }
        try {
            return CollectorConfig.Target.processes(Pattern.compile(processRegex));
        } catch (PatternSyntaxException e) {
            throw new ParameterException(spec.commandLine(), "--process-regex: " + e.getDescription()
                    + " in '" + processRegex + "'");
        }
    }

    private void require(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    /** {@code 8m} -> 8388608; plain numbers are bytes. */
    long parseBytes(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
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

    private PublisherConfig.WireFormat parseWireFormat(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "compact", "v2", "2" -> PublisherConfig.WireFormat.V2;
            case "legacy", "v1", "1" -> PublisherConfig.WireFormat.V1;
            default -> throw new ParameterException(spec.commandLine(),
                    "--wire-format must be compact (v2) or legacy (v1), got '" + text + "'");
        };
    }
}
