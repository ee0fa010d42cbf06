package dev.stackstream.aggregator;

import dev.stackstream.aggregator.engine.DurationText;
import dev.stackstream.aggregator.engine.IngestLimits;
import dev.stackstream.aggregator.engine.Tier;
import dev.stackstream.aggregator.metrics.FunctionMetrics;
import dev.stackstream.aggregator.query.QueryLimits;
import dev.stackstream.aggregator.query.StackDictionary;
import dev.stackstream.command.CommandFailure;
import dev.stackstream.command.ExitStatus;
import dev.stackstream.command.KafkaClientProperties;
import dev.stackstream.command.StopOnSignal;
import dev.stackstream.metrics.ServiceRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.KafkaStreams;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code stackstream aggregator}: runs one aggregator instance until SIGTERM/SIGINT. Every option
 * has an environment variable twin ({@code STACKSTREAM_*}) for Kubernetes.
 *
 * <p>Exit status ({@link ExitStatus}, the table of every command): 0 after a clean stop, 1 when
 * Kafka Streams failed, 2 for bad options, 5 when Kafka refused the client or its configuration,
 * 6 when the broker did not answer at start.
 */
@Command(name = "aggregator", mixinStandardHelpOptions = true,
        description = {"Aggregates stack samples from Kafka into durable profiles (Kafka Streams, exactly-once)",
                "and serves the query API (/api/v1), the web UI (/), /healthz and /metrics."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:stopped by SIGTERM/SIGINT (the JVM reports 143/130 after the orderly stop)",
                "1:Kafka Streams failed", "2:bad option",
                "5:Kafka refused the client or its configuration (--kafka-property, --kafka-config)",
                "6:Kafka did not answer at start (listing or creating topics)"})
public final class AggregatorCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--bootstrap-servers", defaultValue = "${env:STACKSTREAM_BOOTSTRAP_SERVERS}",
            description = "Kafka bootstrap servers HOST:PORT[,...] (env STACKSTREAM_BOOTSTRAP_SERVERS).")
    String bootstrapServers;

    @Option(names = "--http-port", defaultValue = "${env:STACKSTREAM_HTTP_PORT:-8080}",
            description = "HTTP port of the API and UI; 0 picks a free one (default ${DEFAULT-VALUE}).")
    int httpPort;

    @Option(names = "--http-host", defaultValue = "${env:STACKSTREAM_HTTP_HOST:-127.0.0.1}",
            description = "Address to bind the HTTP server to (default ${DEFAULT-VALUE}; 0.0.0.0 for all).")
    String httpHost;

    @Option(names = "--advertised-host", defaultValue = "${env:STACKSTREAM_ADVERTISED_HOST}",
            description = "Host name other instances use to reach this one (default: the HTTP host, or the"
                    + " machine's name when bound to 0.0.0.0).")
    String advertisedHost;

    @Option(names = "--state-dir", defaultValue = "${env:STACKSTREAM_STATE_DIR}",
            description = "Kafka Streams state directory (default: Kafka Streams' default under java.io.tmpdir).")
    Path stateDir;

    @Option(names = "--application-id", defaultValue = "${env:STACKSTREAM_APPLICATION_ID:-stackstream-aggregator}",
            description = "Kafka Streams application.id: instances with the same id share the work"
                    + " (default ${DEFAULT-VALUE}).")
    String applicationId;

    @Option(names = "--instance-id", defaultValue = "${env:STACKSTREAM_INSTANCE_ID}",
            description = "Stable id of this instance (static group membership: a restart takes its partitions"
                    + " back without a rebalance), e.g. the pod name (default: an id kept in the state directory).")
    String instanceId;

    @Option(names = "--samples-topic", defaultValue = "${env:STACKSTREAM_SAMPLES_TOPIC:-stackstream-samples}",
            description = "Topic of sample batches (default ${DEFAULT-VALUE}).")
    String samplesTopic;

    @Option(names = "--stacks-topic", defaultValue = "${env:STACKSTREAM_STACKS_TOPIC:-stackstream-stacks}",
            description = "Compacted topic of stack definitions (default ${DEFAULT-VALUE}).")
    String stacksTopic;

    @Option(names = "--dlq-topic", defaultValue = "${env:STACKSTREAM_DLQ_TOPIC:-stackstream-dlq}",
            description = "Dead-letter topic for records that cannot be decoded (default ${DEFAULT-VALUE}).")
    String dlqTopic;

    @Option(names = "--topic-partitions", defaultValue = "${env:STACKSTREAM_TOPIC_PARTITIONS:-6}",
            description = "Partitions of topics created when missing (default ${DEFAULT-VALUE}).")
    int topicPartitions;

    @Option(names = "--auth-token", defaultValue = "${env:STACKSTREAM_AUTH_TOKEN}",
            description = "Require 'Authorization: Bearer TOKEN' on /api routes (env STACKSTREAM_AUTH_TOKEN).")
    String authToken;

    @Option(names = "--internal-token", defaultValue = "${env:STACKSTREAM_INTERNAL_TOKEN}",
            description = "Token the instances present to each other on the internal fan-out routes, which"
                    + " then refuse every other caller, the --auth-token too (env STACKSTREAM_INTERNAL_TOKEN;"
                    + " default: the --auth-token).")
    String internalToken;

    @Option(names = "--allowed-hosts", defaultValue = "${env:STACKSTREAM_ALLOWED_HOSTS}", paramLabel = "HOSTS",
            description = "Comma-separated Host header names served (421 otherwise): the DNS-rebinding defence of a"
                    + " token-less aggregator; '*.example.com' allows subdomains; the advertised host must be on"
                    + " it (env STACKSTREAM_ALLOWED_HOSTS; default: any).")
    String allowedHosts;

    @Option(names = "--query-timeout", defaultValue = "${env:STACKSTREAM_QUERY_TIMEOUT:-10s}",
            description = "Deadline of each query (504 past it); a request's timeout= may only shorten it"
                    + " (default ${DEFAULT-VALUE}).")
    String queryTimeout;

    @Option(names = "--query-max-response", defaultValue = "${env:STACKSTREAM_QUERY_MAX_RESPONSE:-33554432}",
            description = "Largest answer in bytes, also of a peer's partial result (422 past it; default"
                    + " ${DEFAULT-VALUE}).")
    long queryMaxResponse;

    @Option(names = "--rocksdb-memory", defaultValue = "${env:STACKSTREAM_ROCKSDB_MEMORY:-268435456}",
            description = "Bytes of RocksDB block cache + memtables shared by all stores (default ${DEFAULT-VALUE}).")
    long rocksDbMemory;

    @Option(names = "--tiers", defaultValue = "${env:STACKSTREAM_TIERS:-10s:24h,1m:7d,1h:90d}",
            description = "Bucket tiers SIZE:RETENTION, finest first (default ${DEFAULT-VALUE}).")
    String tiers;

    @Option(names = "--merge-labels", split = ",", paramLabel = "LABEL",
            defaultValue = "${env:STACKSTREAM_MERGE_LABELS:-}",
            description = "Label names that get a pre-merged series per value besides the per-service one, for"
                    + " the labels queries filter on most, e.g. zone,version (default none).")
    List<String> mergeLabels = new ArrayList<>();

    @Option(names = "--rollup-grace", defaultValue = "${env:STACKSTREAM_ROLLUP_GRACE:-30s}",
            description = "How long after a coarse bucket ends it is rolled up (default ${DEFAULT-VALUE}).")
    String rollupGrace;

    @Option(names = "--commit-interval", defaultValue = "${env:STACKSTREAM_COMMIT_INTERVAL:-100ms}",
            description = "Kafka Streams commit interval: the freshness/throughput trade-off"
                    + " (default ${DEFAULT-VALUE}).")
    String commitInterval;

    @Option(names = "--stream-threads", defaultValue = "${env:STACKSTREAM_STREAM_THREADS:-1}",
            description = "Kafka Streams processing threads (default ${DEFAULT-VALUE}).")
    int streamThreads;

    @Option(names = "--function-metrics-top", paramLabel = "N", defaultValue = "${env:STACKSTREAM_FUNCTION_METRICS_TOP:-20}",
            description = "Functions per service exported as self/total share gauges: the top N by self and the"
                    + " top N by total; 0 switches them off (default ${DEFAULT-VALUE}).")
    int functionMetricsTop;

    @Option(names = "--function-metrics-window", paramLabel = "DURATION", defaultValue = "${env:STACKSTREAM_FUNCTION_METRICS_WINDOW:-5m}",
            description = "Sliding window the function shares are computed over (default ${DEFAULT-VALUE}).")
    String functionMetricsWindow;

    @Option(names = "--function-metrics-services", paramLabel = "N",
            defaultValue = "${env:STACKSTREAM_FUNCTION_METRICS_SERVICES:-50}",
            description = "Services with function metrics at most, those with the most samples (default ${DEFAULT-VALUE}).")
    int functionMetricsServices;
    @Option(names = "--max-series-per-service", paramLabel = "N",
            defaultValue = "${env:STACKSTREAM_MAX_SERIES_PER_SERVICE:-" + IngestLimits.DEFAULT_MAX_SERIES_PER_SERVICE + "}",
            description = "Series (label sets x profile types) a service keeps per samples partition; the windows of"
                    + " further label sets count in the service's overflow series (default ${DEFAULT-VALUE}).")
    int maxSeriesPerService;

    @Option(names = "--max-stacks-per-bucket", paramLabel = "N",
            defaultValue = "${env:STACKSTREAM_MAX_STACKS_PER_BUCKET:-" + IngestLimits.DEFAULT_MAX_ENTRIES_PER_BUCKET + "}",
            description = "(Stack, thread) entries a bucket keeps; past it the smallest are summed into [other], at"
                    + " most " + IngestLimits.MAX_ENTRIES_PER_BUCKET_LIMIT + " (default ${DEFAULT-VALUE}).")
    int maxStacksPerBucket;

    @Option(names = "--max-frames-per-stack", paramLabel = "N",
            defaultValue = "${env:STACKSTREAM_MAX_FRAMES_PER_STACK:-" + StackDictionary.DEFAULT_MAX_FRAMES + "}",
            description = "Frames a stack shows; a longer one keeps its leaf-most frames under [truncated]"
                    + " (default ${DEFAULT-VALUE}).")
    int maxFramesPerStack;

    @Option(names = "--max-labels", paramLabel = "N",
            defaultValue = "${env:STACKSTREAM_MAX_LABELS:-" + IngestLimits.DEFAULT_MAX_LABELS + "}",
            description = "Labels one window may carry; a window with more is dead-lettered, reason limits"
                    + " (default ${DEFAULT-VALUE}).")
    int maxLabels;

    @Option(names = "--max-label-name-bytes", paramLabel = "BYTES",
            defaultValue = "${env:STACKSTREAM_MAX_LABEL_NAME_BYTES:-" + IngestLimits.DEFAULT_MAX_LABEL_NAME_BYTES + "}",
            description = "Longest label name (UTF-8), else dead-lettered, reason limits (default ${DEFAULT-VALUE}).")
    int maxLabelNameBytes;

    @Option(names = "--max-label-value-bytes", paramLabel = "BYTES",
            defaultValue = "${env:STACKSTREAM_MAX_LABEL_VALUE_BYTES:-" + IngestLimits.DEFAULT_MAX_LABEL_VALUE_BYTES + "}",
            description = "Longest label value (UTF-8), else dead-lettered, reason limits (default ${DEFAULT-VALUE}).")
    int maxLabelValueBytes;

    @Option(names = "--max-service-bytes", paramLabel = "BYTES",
            defaultValue = "${env:STACKSTREAM_MAX_SERVICE_BYTES:-" + IngestLimits.DEFAULT_MAX_SERVICE_BYTES + "}",
            description = "Longest service name (UTF-8), else dead-lettered, reason limits (default ${DEFAULT-VALUE}).")
    int maxServiceBytes;

    @Option(names = "--max-clock-skew", paramLabel = "DURATION",
            defaultValue = "${env:STACKSTREAM_MAX_CLOCK_SKEW:-" + IngestLimits.DEFAULT_MAX_CLOCK_SKEW + "}",
            description = "How far past this aggregator's clock a window may start; later ones are dead-lettered,"
                    + " reason window-in-future (default ${DEFAULT-VALUE}).")
    String maxClockSkew;

    @Option(names = "--standby-replicas", defaultValue = "${env:STACKSTREAM_STANDBY_REPLICAS:-1}",
            description = "Warm copies of each partition's state on other instances, read when an instance is"
                    + " lost (default ${DEFAULT-VALUE}; none exist while one instance runs).")
    int standbyReplicas;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE",
            description = "Any Kafka client / Streams property (TLS, SASL, tuning); repeatable; wins over"
                    + " --kafka-config and STACKSTREAM_KAFKA_* (keep secrets in those: a flag shows in ps).")
    Map<String, String> kafkaProperties = new LinkedHashMap<>();

    @Option(names = "--kafka-config", paramLabel = "FILE", defaultValue = "${env:STACKSTREAM_KAFKA_CONFIG}",
            description = "Kafka client / Streams properties file (Java properties: TLS, SASL secrets); wins over"
                    + " STACKSTREAM_KAFKA_<PROPERTY> variables (e.g. STACKSTREAM_KAFKA_SASL_JAAS_CONFIG is"
                    + " sasl.jaas.config) (env STACKSTREAM_KAFKA_CONFIG).")
    Path kafkaConfig;

    public static void main(String[] args) {
        System.exit(ExitStatus.install(new CommandLine(new AggregatorCommand())).execute(args));
    }

    /** Runs the aggregator until SIGTERM/SIGINT, or until its Kafka Streams client failed. */
    @Override
    public Integer call() throws Exception {
        AggregatorConfig config = config();
        CountDownLatch stopRequested = new CountDownLatch(1);
        try (StopOnSignal signal = StopOnSignal.install("aggregator-shutdown", stopRequested::countDown,
                     Duration.ofSeconds(60));
             ServiceRegistry metrics = ServiceRegistry.create();
             Aggregator aggregator = Aggregator.start(config, metrics.registry())) {
            System.out.println("stackstream aggregator: API and UI on http://" + config.httpHost() + ":"
                    + aggregator.httpPort() + "/");
            while (!stopRequested.await(1, TimeUnit.SECONDS)) {
                if (aggregator.state() == KafkaStreams.State.ERROR) {
                    throw new CommandFailure(ExitStatus.FAILURE, "Kafka Streams failed (see the log); exiting");
                }
            }
        }
        return ExitStatus.OK;
    }

    /** The options (and their environment twins) as an aggregator configuration; usage errors throw. */
    private AggregatorConfig config() {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "Missing --bootstrap-servers (or STACKSTREAM_BOOTSTRAP_SERVERS)");
        }
        try {
            AggregatorConfig.Builder b = AggregatorConfig.builder(bootstrapServers)
                    .applicationId(applicationId).stateDir(stateDir)
                    .samplesTopic(samplesTopic).stacksTopic(stacksTopic).dlqTopic(dlqTopic)
                    .httpHost(httpHost).httpPort(httpPort).advertisedHost(blankToNull(advertisedHost))
                    .authToken(blankToNull(authToken)).internalToken(blankToNull(internalToken))
                    .allowedHosts(allowedHosts == null ? java.util.Set.of() : new java.util.TreeSet<>(
                            java.util.Arrays.stream(allowedHosts.split(",")).map(String::trim)
                                    .filter(h -> !h.isEmpty()).toList()))
                    .queryLimits(new QueryLimits(DurationText.parse(queryTimeout), queryMaxResponse, System::nanoTime))
                    .rocksDbMemoryBytes(rocksDbMemory)
                    .tiers(Tier.parseList(tiers))
                    .mergeLabels(mergeLabels.stream().filter(l -> !l.isBlank()).toList())
                    .rollupGrace(DurationText.parse(rollupGrace))
                    .commitInterval(DurationText.parse(commitInterval)).streamThreads(streamThreads)
                    .standbyReplicas(standbyReplicas)
                    .instanceId(blankToNull(instanceId)).topicPartitions(topicPartitions)
                    .functionMetrics(new FunctionMetrics.Settings(functionMetricsTop,
                            DurationText.parse(functionMetricsWindow), functionMetricsServices,
                            FunctionMetrics.Settings.DEFAULTS.refreshInterval()))
                    .ingestLimits(ingestLimits())
                    .maxFramesPerStack(maxFramesPerStack);
            KafkaClientProperties.resolve(kafkaProperties, kafkaConfig, System.getenv()).forEach(b::kafkaProperty);
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** The per-window and per-service bounds (IngestLimits refuses a bad one, naming its option). */
    private IngestLimits ingestLimits() {
        Duration skew;
        try {
            skew = DurationText.parse(maxClockSkew);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--max-clock-skew: " + e.getMessage(), e);
        }
        return new IngestLimits(skew, maxServiceBytes, maxLabels, maxLabelNameBytes, maxLabelValueBytes,
                maxStacksPerBucket, maxSeriesPerService);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
