package dev.stackstream.aggregator;

import dev.stackstream.aggregator.engine.BoundedRocksDbConfig;
import dev.stackstream.aggregator.engine.IngestLimits;
import dev.stackstream.aggregator.engine.MergedSeries;
import dev.stackstream.aggregator.engine.Tier;
import dev.stackstream.aggregator.http.HttpSettings;
import dev.stackstream.aggregator.metrics.FunctionMetrics;
import dev.stackstream.aggregator.query.QueryLimits;
import dev.stackstream.aggregator.query.StackDictionary;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything an {@link Aggregator} needs. Immutable; build with {@link #builder(String)}.
 * Defaults: application id {@code stackstream-aggregator}, topics {@code stackstream-samples},
 * {@code stackstream-stacks}, {@code stackstream-dlq}, HTTP on 127.0.0.1:8080, tiers
 * 10s:24h,1m:7d,1h:90d, 256 MiB RocksDB memory, rollup grace 30 s, function metrics for the top 20
 * functions of up to 50 services over 5 minutes.
 */
public final class AggregatorConfig {
    private final String bootstrapServers;
    private final String applicationId;
    private final Path stateDir;
    private final String samplesTopic;
    private final String stacksTopic;
    private final String dlqTopic;
    private final String httpHost;
    private final int httpPort;
    private final String advertisedHost;
    private final String authToken;
    private final String internalToken;
    private final java.util.Set<String> allowedHosts;
    private final QueryLimits queryLimits;
    private final long rocksDbMemoryBytes;
    private final List<Tier> tiers;
    private final MergedSeries merges;
    private final Duration rollupGrace;
    private final Duration rollupInterval;
    private final Duration dedupRetention;
    private final Duration commitInterval;
    private final int streamThreads;
    private final int standbyReplicas;
    private final String instanceId;
    private final int topicPartitions;
    private final Map<String, String> kafkaProperties;
    private final FunctionMetrics.Settings functionMetrics;
    private final IngestLimits ingestLimits;
    private final int maxFramesPerStack;
    private final Clock clock;

    private AggregatorConfig(Builder b) {
        bootstrapServers = b.bootstrapServers;
        applicationId = b.applicationId;
        stateDir = b.stateDir;
        samplesTopic = b.samplesTopic;
        stacksTopic = b.stacksTopic;
        dlqTopic = b.dlqTopic;
        httpHost = b.httpHost;
        httpPort = b.httpPort;
        advertisedHost = b.advertisedHost;
        authToken = b.authToken;
        internalToken = b.internalToken;
        allowedHosts = java.util.Set.copyOf(b.allowedHosts);
        queryLimits = b.queryLimits;
        rocksDbMemoryBytes = b.rocksDbMemoryBytes;
        tiers = b.tiers;
        merges = b.merges;
        rollupGrace = b.rollupGrace;
        rollupInterval = b.rollupInterval;
        dedupRetention = b.dedupRetention;
        commitInterval = b.commitInterval;
        streamThreads = b.streamThreads;
        standbyReplicas = b.standbyReplicas;
        instanceId = b.instanceId;
        topicPartitions = b.topicPartitions;
        kafkaProperties = Map.copyOf(b.kafkaProperties);
        functionMetrics = b.functionMetrics;
        ingestLimits = b.ingestLimits;
        maxFramesPerStack = b.maxFramesPerStack;
        clock = b.clock;
    }

    public static Builder builder(String bootstrapServers) {
        return new Builder(bootstrapServers);
    }

    public String bootstrapServers() { return bootstrapServers; }
    public String applicationId() { return applicationId; }
    /** Kafka Streams state directory; null means Streams' default under java.io.tmpdir. */
    public Path stateDir() { return stateDir; }
    public String samplesTopic() { return samplesTopic; }
    public String stacksTopic() { return stacksTopic; }
    public String dlqTopic() { return dlqTopic; }
    public String httpHost() { return httpHost; }
    /** 0 picks a free port. */
    public int httpPort() { return httpPort; }
    /** Host other instances use to reach this one's API (application.server); defaults to the HTTP host. */
    public String advertisedHost() { return advertisedHost; }
    /** Bearer token required on /api routes, or null for none. */
    public String authToken() { return authToken; }
    /** Token peers present on the internal fan-out routes, or null to use the bearer token. */
    public String internalToken() { return internalToken; }
    /** Host header names the HTTP side accepts; empty accepts any (no DNS-rebinding check). */
    public java.util.Set<String> allowedHosts() { return allowedHosts; }
    /** Deadline and response bound of each query. */
    public QueryLimits queryLimits() { return queryLimits; }
    /** The HTTP side's settings. */
    public HttpSettings httpSettings() {
        return new HttpSettings(httpHost, httpPort, authToken, internalToken, allowedHosts, queryLimits);
    }
    public long rocksDbMemoryBytes() { return rocksDbMemoryBytes; }
    public List<Tier> tiers() { return tiers; }
    /** The pre-merged series kept beside the pod series: the service merge and these label dimensions. */
    public MergedSeries merges() { return merges; }
    public Duration rollupGrace() { return rollupGrace; }
    public Duration rollupInterval() { return rollupInterval; }
    public Duration dedupRetention() { return dedupRetention; }
    public Duration commitInterval() { return commitInterval; }
    public int streamThreads() { return streamThreads; }
    /** Standby copies of each task on other instances (Kafka Streams num.standby.replicas); none exist with one instance. */
    public int standbyReplicas() { return standbyReplicas; }
    /** Static group membership id (group.instance.id), or null. */
    public String instanceId() { return instanceId; }
    /** Partitions of topics the aggregator creates when they are missing. */
    public int topicPartitions() { return topicPartitions; }
    /** Extra Kafka client / Streams properties (TLS, SASL, tuning), applied last. */
    public Map<String, String> kafkaProperties() { return kafkaProperties; }
    /** Top-N functions per service exported as gauges (FunctionMetrics); top 0 = off. */
    public FunctionMetrics.Settings functionMetrics() { return functionMetrics; }
    /** Bounds on what one window may put into the state (series, labels, entries per bucket, clock skew). */
    public IngestLimits ingestLimits() { return ingestLimits; }
    /** Frames a stack shows at most; a longer one keeps its leaf-most frames under {@code [truncated]}. */
    public int maxFramesPerStack() { return maxFramesPerStack; }
    public Clock clock() { return clock; }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private final String bootstrapServers;
        private String applicationId = "stackstream-aggregator";
        private Path stateDir;
        private String samplesTopic = "stackstream-samples";
        private String stacksTopic = "stackstream-stacks";
        private String dlqTopic = "stackstream-dlq";
        private String httpHost = "127.0.0.1";
        private int httpPort = 8080;
        private String advertisedHost;
        private String authToken;
        private String internalToken;
        private java.util.Set<String> allowedHosts = java.util.Set.of();
        private QueryLimits queryLimits = QueryLimits.DEFAULTS;
        private long rocksDbMemoryBytes = BoundedRocksDbConfig.DEFAULT_TOTAL_BYTES;
        private List<Tier> tiers = Tier.DEFAULTS;
        private MergedSeries merges = MergedSeries.serviceOnly();
        private Duration rollupGrace = Duration.ofSeconds(30);
        private Duration rollupInterval = Duration.ofSeconds(5);
        private Duration dedupRetention = Duration.ofDays(7);
        private Duration commitInterval = Duration.ofMillis(100);
        private int streamThreads = 1;
        private int standbyReplicas = 1;
        private String instanceId;
        private int topicPartitions = 6;
        private final Map<String, String> kafkaProperties = new LinkedHashMap<>();
        private FunctionMetrics.Settings functionMetrics = FunctionMetrics.Settings.DEFAULTS;
        private IngestLimits ingestLimits = IngestLimits.DEFAULTS;
        private int maxFramesPerStack = StackDictionary.DEFAULT_MAX_FRAMES;
        private Clock clock = Clock.systemUTC();

        private Builder(String bootstrapServers) {
            this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        }

        public Builder applicationId(String v) { applicationId = Objects.requireNonNull(v); return this; }
        public Builder stateDir(Path v) { stateDir = v; return this; }
        public Builder samplesTopic(String v) { samplesTopic = Objects.requireNonNull(v); return this; }
        public Builder stacksTopic(String v) { stacksTopic = Objects.requireNonNull(v); return this; }
        public Builder dlqTopic(String v) { dlqTopic = Objects.requireNonNull(v); return this; }
        public Builder httpHost(String v) { httpHost = Objects.requireNonNull(v); return this; }
        public Builder httpPort(int v) { httpPort = v; return this; }
        public Builder advertisedHost(String v) { advertisedHost = v; return this; }
        public Builder authToken(String v) { authToken = v == null || v.isEmpty() ? null : v; return this; }
        public Builder internalToken(String v) { internalToken = v == null || v.isEmpty() ? null : v; return this; }
        public Builder allowedHosts(java.util.Set<String> v) { allowedHosts = Objects.requireNonNull(v); return this; }
        public Builder queryLimits(QueryLimits v) { queryLimits = Objects.requireNonNull(v); return this; }
        public Builder rocksDbMemoryBytes(long v) { rocksDbMemoryBytes = v; return this; }
        public Builder tiers(List<Tier> v) { Tier.validate(v); tiers = List.copyOf(v); return this; }
        public Builder mergeLabels(List<String> v) { merges = new MergedSeries(v); return this; }
        public Builder rollupGrace(Duration v) { rollupGrace = Objects.requireNonNull(v); return this; }
        public Builder rollupInterval(Duration v) { rollupInterval = Objects.requireNonNull(v); return this; }
        public Builder dedupRetention(Duration v) { dedupRetention = Objects.requireNonNull(v); return this; }
        public Builder commitInterval(Duration v) { commitInterval = Objects.requireNonNull(v); return this; }
        public Builder streamThreads(int v) { streamThreads = v; return this; }
        public Builder standbyReplicas(int v) { standbyReplicas = v; return this; }
        public Builder instanceId(String v) { instanceId = v; return this; }
        public Builder topicPartitions(int v) { topicPartitions = v; return this; }
        public Builder kafkaProperty(String k, String v) { kafkaProperties.put(k, v); return this; }
        public Builder clock(Clock v) { clock = Objects.requireNonNull(v); return this; }
        public Builder functionMetrics(FunctionMetrics.Settings v) { functionMetrics = Objects.requireNonNull(v); return this; }
        public Builder ingestLimits(IngestLimits v) { ingestLimits = Objects.requireNonNull(v); return this; }
        public Builder maxFramesPerStack(int v) { maxFramesPerStack = v; return this; }

        public AggregatorConfig build() {
            if (httpPort < 0 || httpPort > 65535) {
                throw new IllegalArgumentException("HTTP port must be 0..65535, got " + httpPort);
            }
            if (rocksDbMemoryBytes < 8L << 20) {
                throw new IllegalArgumentException("RocksDB memory must be at least 8 MiB, got " + rocksDbMemoryBytes);
            }
            if (streamThreads < 1) {
                throw new IllegalArgumentException("stream threads must be >= 1, got " + streamThreads);
            }
            if (standbyReplicas < 0 || standbyReplicas > 10) {
                throw new IllegalArgumentException("standby replicas must be 0..10, got " + standbyReplicas);
            }
            if (topicPartitions < 1) {
                throw new IllegalArgumentException("topic partitions must be >= 1, got " + topicPartitions);
            }
            if (maxFramesPerStack < 2) {
                throw new IllegalArgumentException("--max-frames-per-stack must be at least 2 (a [truncated] root and"
                        + " a leaf), got " + maxFramesPerStack);
            }
            if (rollupInterval.toMillis() < 100) {
                throw new IllegalArgumentException("rollup interval must be >= 100ms");
            }
            return new AggregatorConfig(this);
        }
    }
}
