package dev.stackstream.aggregator;

import dev.stackstream.aggregator.engine.AggregatorTopology;
import dev.stackstream.aggregator.engine.BoundedRocksDbConfig;
import dev.stackstream.aggregator.engine.IngestErrorHandler;
import dev.stackstream.aggregator.engine.ProductionErrorHandler;
import dev.stackstream.aggregator.engine.RecordLimits;
import dev.stackstream.aggregator.engine.RefusedDeadLetters;
import dev.stackstream.aggregator.http.ApiServer;
import dev.stackstream.aggregator.metrics.FunctionMetrics;
import dev.stackstream.aggregator.metrics.StreamsMetrics;
import dev.stackstream.aggregator.query.ApiException;
import dev.stackstream.aggregator.query.ClusterQueries;
import dev.stackstream.aggregator.query.CaughtUpStandbys;
import dev.stackstream.aggregator.query.LocalQueries;
import dev.stackstream.aggregator.query.QueryService;
import dev.stackstream.aggregator.query.StackDictionary;
import dev.stackstream.command.KafkaClientProperties;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.processor.UsePartitionTimeOnInvalidTimestamp;
import org.apache.kafka.streams.state.HostInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One aggregator instance: the HTTP API (started first, so its port is known and can be advertised
 * as application.server) and the Kafka Streams application with exactly_once_v2. Several instances
 * with the same application id share the samples partitions; any of them answers any query.
 *
 * <pre>{@code
 * try (Aggregator a = Aggregator.start(AggregatorConfig.builder("localhost:9092").build(), registry)) {
 *     a.awaitRunning(Duration.ofMinutes(1));
 * }
 * }</pre>
 */
public final class Aggregator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Aggregator.class);
    /** Session timeout of the static member (see streamsProperties). */
    static final int SESSION_TIMEOUT_MS = 10_000;
    /** fetch.max.wait.ms of the restore and global consumers (see streamsProperties). */
    static final int RESTORE_FETCH_MAX_WAIT_MS = 50;

    private final AggregatorConfig config;
    private final ApiServer api;
    private final KafkaStreams streams;
    private final StreamsMetrics streamsMetrics;
    private final LocalQueries local;
    private final FunctionMetrics functionMetrics;
    private final ScheduledExecutorService functionRefresh;
    private final Admin admin;

    private Aggregator(AggregatorConfig config, ApiServer api, KafkaStreams streams, StreamsMetrics sm,
                       LocalQueries local, FunctionMetrics functionMetrics, ScheduledExecutorService functionRefresh,
                       Admin admin) {
        this.config = config;
        this.admin = admin;
        this.local = local;
        this.functionMetrics = functionMetrics;
        this.functionRefresh = functionRefresh;
        this.api = api;
        this.streams = streams;
        this.streamsMetrics = sm;
    }

    /**
     * Creates missing topics, starts the HTTP API and the Streams application. Returns once both are
     * started (not necessarily RUNNING: see {@link #awaitRunning(Duration)}); {@link #close()} stops
     * both. When start throws, nothing is left running.
     *
     * @throws org.apache.kafka.common.errors.TimeoutException when Kafka did not answer in time
     * @throws KafkaException when Kafka refused the client (authorization) or its configuration is invalid
     * @throws Exception anything else, e.g. the HTTP API cannot listen on its port
     */
    public static Aggregator start(AggregatorConfig config, MeterRegistry registry) throws Exception {
        // How long the JVM took to get here is part of every restart's outage (RestartBench reads it).
        LOG.info("aggregator {} starting ({} ms after the JVM started)", config.applicationId(),
                java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime());
        AggregatorMetrics metrics = new AggregatorMetrics(registry, config.clock());
        KafkaStreams[] holder = new KafkaStreams[1];
        // The HTTP server (Javalin on Jetty: a second or more of class loading on a busy machine) starts
        // on a thread of its own while the topics are checked and Kafka Streams starts: both lie on the
        // path of every restart. Only a fixed port allows that, as Streams advertises the port
        // (application.server); port 0's is known once bound, so that server starts first.
        FutureTask<ApiServer> apiStart = new FutureTask<>(() -> new ApiServer(config.httpSettings(), metrics,
                () -> holder[0] == null ? "STARTING" : holder[0].state().name()));
        if (config.httpPort() == 0) {
            apiStart.run();
        } else {
            Thread t = new Thread(apiStart, "aggregator-http-start");
            t.setDaemon(true);
            t.start();
        }
        // Creates missing topics, then reads the changelogs' stable ends when a standby is to stand in
        // for a lost owner.
        Admin admin = null;
        try {
            admin = Admin.create(adminProperties(config));
            int samplesPartitions = ensureTopics(admin, config);
            String advertised = config.advertisedHost() != null ? config.advertisedHost()
                    : config.httpHost().equals("0.0.0.0") ? java.net.InetAddress.getLocalHost().getHostName()
                    : config.httpHost();
            HostInfo self = new HostInfo(advertised, config.httpPort() == 0 ? started(apiStart).port()
                    : config.httpPort());
            Topology topology = AggregatorTopology.build(config.samplesTopic(), config.stacksTopic(),
                    config.dlqTopic(), config.tiers(), config.rollupGrace(), config.rollupInterval(),
                    config.dedupRetention(), config.ingestLimits(), config.merges(), config.clock(), metrics);
            Properties props = streamsProperties(config, self);
            props.put(IngestErrorHandler.METRICS_CONFIG, metrics);
            RefusedDeadLetters refused = new RefusedDeadLetters();
            props.put(RefusedDeadLetters.CONFIG, refused);
            // Dead letters are cut and buckets folded to what their topics take (after ensureTopics:
            // the dead-letter topic may just have been created).
            props.put(RecordLimits.CONFIG, TopicLimits.read(admin, config, props));
            KafkaStreams streams = new KafkaStreams(topology, props);
            holder[0] = streams;
            streams.setUncaughtExceptionHandler(e -> {
                // A dead letter the topic refused: the replay writes a stub instead (ProductionErrorHandler).
                if (refused.takeReplacement()) {
                    LOG.warn("stream thread stopped on a refused dead letter; replacing it: its tasks replay from"
                            + " their last commit with a stub in the letter's place");
                    return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
                }
                LOG.error("stream thread failed; shutting the aggregator's Kafka Streams client down", e);
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            });
            streams.setStateListener((now, before) -> LOG.info("Kafka Streams state {} -> {}", before, now));
            StreamsMetrics sm = new StreamsMetrics(streams);
            sm.bindTo(registry);
            LocalQueries local = new LocalQueries(streams, config.samplesTopic(), config.tiers(), config.merges(),
                    metrics, config.clock());
            ClusterQueries cluster = new ClusterQueries(streams, local,
                    new CaughtUpStandbys(streams, config.samplesTopic(), config.applicationId(), admin), self,
                    config.httpSettings().peerToken(), config.samplesTopic(), samplesPartitions);
            StackDictionary dictionary = new StackDictionary(streams, metrics, config.maxFramesPerStack());
            streams.start();
            // Until attached, the API answers 503 with Retry-After.
            ApiServer api = started(apiStart);
            api.attach(new QueryService(cluster, dictionary, config.tiers(), config.clock()), cluster);
            FunctionMetrics functions = new FunctionMetrics(local, dictionary, config.tiers(), config.clock(),
                    config.functionMetrics());
            ScheduledExecutorService refresh = scheduleFunctionMetrics(functions, registry);
            LOG.info("aggregator {} started: application.server {}, state dir {}, tiers {}, group.instance.id {},"
                    + " Kafka properties {}", config.applicationId(), self, config.stateDir(), config.tiers(),
                    props.get(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)),
                    KafkaClientProperties.masked(config.kafkaProperties()));
            return new Aggregator(config, api, streams, sm, local, functions, refresh, admin);
        } catch (Exception | Error e) {
            try {
                started(apiStart).close();
            } catch (Exception notStarted) {
                if (notStarted != e) {
                    e.addSuppressed(notStarted);
                }
            }
            if (admin != null) {
                admin.close(Duration.ofSeconds(5));
            }
            if (holder[0] != null) {
                holder[0].close(Duration.ofSeconds(10));
            }
            throw e;
        }
    }

    /** The HTTP server once started, or what stopped it from starting. */
    private static ApiServer started(FutureTask<ApiServer> apiStart) throws Exception {
        try {
            return apiStart.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    /** Binds the function metrics and recomputes them every refresh interval; null when they are off. */
    private static ScheduledExecutorService scheduleFunctionMetrics(FunctionMetrics functions, MeterRegistry registry) {
        FunctionMetrics.Settings settings = functions.settings();
        if (!settings.enabled()) {
            return null;
        }
        functions.bindTo(registry);
        ScheduledExecutorService refresh = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "function-metrics");
            t.setDaemon(true);
            return t;
        });
        long every = settings.refreshInterval().toMillis();
        refresh.scheduleWithFixedDelay(() -> {
            try {
                functions.refresh();
            } catch (ApiException e) {
                LOG.debug("function metrics not refreshed: {}", e.getMessage());
            } catch (RuntimeException e) {
                LOG.warn("function metrics not refreshed", e);
            }
        }, every, every, TimeUnit.MILLISECONDS);
        return refresh;
    }

    static Properties streamsProperties(AggregatorConfig c, HostInfo self) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, c.applicationId());
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, c.bootstrapServers());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.APPLICATION_SERVER_CONFIG, self.host() + ":" + self.port());
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, c.streamThreads());
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, c.commitInterval().toMillis());
        p.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbConfig.class);
        p.put(BoundedRocksDbConfig.TOTAL_BYTES_CONFIG, Long.toString(c.rocksDbMemoryBytes()));
        // The record cache coalesces repeated writes of the same bucket between commits; it is part of
        // the memory budget: an eighth of it.
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, Math.max(1L << 20, c.rocksDbMemoryBytes() / 8));
        p.put(StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG, UsePartitionTimeOnInvalidTimestamp.class);
        // A record whose processing throws goes to the DLQ and ingest resumes (IngestErrorHandler).
        p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, IngestErrorHandler.class);
        p.put(IngestErrorHandler.DLQ_TOPIC_CONFIG, c.dlqTopic());
        // A record Kafka does not take: retried, stubbed (dead letters) or fatal (changelogs), never skipped.
        p.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, ProductionErrorHandler.class);
        // A warm copy of every task on another instance, kept from the changelogs: when an instance is
        // lost, queries read its partitions there at once and the task moves there without a restore.
        // With one instance there is nowhere to put it and nothing is created.
        p.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, c.standbyReplicas());
        if (c.stateDir() != null) {
            p.put(StreamsConfig.STATE_DIR_CONFIG, c.stateDir().toAbsolutePath().toString());
        }
        // Static membership (InstanceIdentity): a restarted instance takes its partitions back without
        // waiting for its dead predecessor's session to time out. The session timeout is how long a
        // member that does not come back holds its partitions: longer than a restart (a JVM start and a
        // rejoin, seconds; a pod moved to another node, tens of seconds), far shorter than the 45 s default
        // that made every crash an outage. It is also how long a lost instance's partitions answer 503
        // (unless a caught-up standby is here), so it is kept short: 10 s brings full answers back
        // within ~13 s of losing one of two instances (overridable with --kafka-property
        // session.timeout.ms=...).
        p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
                InstanceIdentity.of(c.instanceId(), c.stateDir(), c.applicationId()));
        p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), SESSION_TIMEOUT_MS);
        // Transactional state stores (KIP-892): a store keeps only committed writes and its changelog
        // offset, so after a kill -9 the tasks resume from their state instead of Kafka Streams wiping it
        // (as it must for plain stores under exactly-once) and restoring every changelog. Queries read
        // committed data only: an answer never shows a window a crash could take back.
        p.put(StreamsConfig.TRANSACTIONAL_STATE_STORES_CONFIG, true);
        // The restore and global consumers read changelogs and the stacks topic to their ends at start.
        // At an end a fetch waits fetch.max.wait.ms (500 ms by default) for data that does not come, and
        // the broker answers a connection's requests in order, so the next partition's offset lookup
        // waited behind it: one such stall per partition restored, most of a restart's time in
        // RestartBench (7.4 s -> 4.8 s median with 50 ms). An idle standby or global consumer then asks
        // 20 times a second instead of twice, which neither side notices.
        p.put(StreamsConfig.restoreConsumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), RESTORE_FETCH_MAX_WAIT_MS);
        p.put(StreamsConfig.globalConsumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), RESTORE_FETCH_MAX_WAIT_MS);
        p.put(StreamsConfig.DEFAULT_INTERACTIVE_QUERY_ISOLATION_LEVEL_CONFIG, "READ_COMMITTED");
        p.putAll(c.kafkaProperties());
        return p;
    }

    /** The admin client's properties: the broker, bounded timeouts, and the admin keys of --kafka-property. */
    private static Properties adminProperties(AggregatorConfig c) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, c.bootstrapServers());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        c.kafkaProperties().forEach((k, v) -> {
            if (AdminClientConfig.configNames().contains(k)) {
                p.put(k, v);
            }
        });
        return p;
    }

    /** Creates the missing topics; returns the samples topic's partition count (what a full answer covers). */
    private static int ensureTopics(Admin admin, AggregatorConfig c) throws Exception {
        Set<String> existing = listTopics(admin, c.bootstrapServers());
        List<NewTopic> missing = new ArrayList<>();
        if (!existing.contains(c.samplesTopic())) {
            missing.add(new NewTopic(c.samplesTopic(), java.util.Optional.of(c.topicPartitions()),
                    java.util.Optional.empty()));
        }
        if (!existing.contains(c.stacksTopic())) {
            missing.add(new NewTopic(c.stacksTopic(), java.util.Optional.of(c.topicPartitions()),
                    java.util.Optional.empty()).configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG,
                    TopicConfig.CLEANUP_POLICY_COMPACT)));
        }
        if (!existing.contains(c.dlqTopic())) {
            missing.add(new NewTopic(c.dlqTopic(), java.util.Optional.of(1), java.util.Optional.empty()));
        }
        for (NewTopic t : missing) {
            try {
                admin.createTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
                LOG.info("created topic {} ({} partitions)", t.name(), t.numPartitions());
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw kafkaFailure("cannot create topic " + t.name() + " at " + c.bootstrapServers(), e.getCause());
                }
            } catch (TimeoutException e) {
                throw kafkaFailure("cannot create topic " + t.name() + " at " + c.bootstrapServers(), e);
            }
        }
        awaitLeaders(admin, missing.stream().map(NewTopic::name).toList());
        try {
            return admin.describeTopics(List.of(c.samplesTopic())).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get(c.samplesTopic()).partitions().size();
        } catch (ExecutionException e) {
            throw kafkaFailure("cannot describe topic " + c.samplesTopic() + " at " + c.bootstrapServers(), e.getCause());
        } catch (TimeoutException e) {
            throw kafkaFailure("cannot describe topic " + c.samplesTopic() + " at " + c.bootstrapServers(), e);
        }
    }

    /**
     * Waits (bounded) until every partition of the topics just created has a leader: the broker's
     * metadata can trail the controller's answer, and a Streams global store that starts in that
     * gap fails with "no partitions available".
     */
    private static void awaitLeaders(Admin admin, List<String> topics) throws InterruptedException {
        if (topics.isEmpty()) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            try {
                boolean ready = admin.describeTopics(topics).allTopicNames().get(10, TimeUnit.SECONDS).values()
                        .stream().allMatch(d -> !d.partitions().isEmpty()
                                && d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
                if (ready) {
                    return;
                }
            } catch (ExecutionException | TimeoutException e) {
                LOG.debug("topics {} not described yet: {}", topics, e.toString());
            }
            Thread.sleep(100);
        }
        LOG.warn("partitions of {} still without a leader after 30 s; starting anyway", topics);
    }

    private static Set<String> listTopics(Admin admin, String bootstrapServers) throws InterruptedException {
        try {
            return admin.listTopics().names().get(30, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            throw kafkaFailure("cannot reach Kafka at " + bootstrapServers + " (listing topics failed); is the broker up"
                    + " and the address right?", e instanceof ExecutionException ? e.getCause() : e);
        }
    }

    /**
     * A failure to talk to Kafka at start, as the exception the exit-status table classifies:
     * Kafka's TimeoutException when the broker did not answer, a KafkaException when it refused.
     */
    private static KafkaException kafkaFailure(String what, Throwable cause) {
        if (cause instanceof TimeoutException || cause instanceof org.apache.kafka.common.errors.TimeoutException) {
            return new org.apache.kafka.common.errors.TimeoutException(what + ": no answer in time", cause);
        }
        return new KafkaException(what + ": " + cause, cause);
    }

    /** Waits until Kafka Streams is RUNNING; false on timeout. Throws if it failed. */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            KafkaStreams.State s = streams.state();
            if (s == KafkaStreams.State.RUNNING) {
                return true;
            }
            if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING
                    || s == KafkaStreams.State.PENDING_ERROR) {
                throw new IllegalStateException("the aggregator's Kafka Streams client is " + s);
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** Per-tier sample totals of a service on this instance's partitions (see LocalQueries#tierTotals). */
    public Map<String, Long> tierTotals(String service, java.time.Instant from, java.time.Instant to) {
        return local.tierTotals(service, from.toEpochMilli(), to.toEpochMilli());
    }

    /** The function metrics of this instance (refreshed on their own schedule; tests refresh them at will). */
    public FunctionMetrics functionMetrics() {
        return functionMetrics;
    }

    /** The same totals read from the service merge (see LocalQueries#mergedTierTotals): equal when the merge is exact. */
    public Map<String, Long> mergedTierTotals(String service, java.time.Instant from, java.time.Instant to) {
        return local.mergedTierTotals(service, from.toEpochMilli(), to.toEpochMilli());
    }

    /** True when RUNNING now (no waiting, no exception). */
    public boolean isRunning() {
        return streams.state() == KafkaStreams.State.RUNNING;
    }

    /** Samples-topic partitions whose active task runs on this instance. */
    public java.util.SortedSet<Integer> localPartitions() {
        return local.localPartitions();
    }

    public KafkaStreams.State state() {
        return streams.state();
    }

    /** Port the HTTP API listens on. */
    public int httpPort() {
        return api.port();
    }

    public AggregatorConfig config() {
        return config;
    }

    /** Stops HTTP and Streams (committing the current transaction). */
    @Override
    public void close() {
        if (functionRefresh != null) {
            functionRefresh.shutdownNow();
        }
        api.close();
        streamsMetrics.close();
        streams.close(Duration.ofSeconds(30));
        admin.close(Duration.ofSeconds(5));
    }
}
