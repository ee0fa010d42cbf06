package dev.stackstream.collector.sidecar;

import dev.stackstream.collector.metrics.CollectorMetrics;
import dev.stackstream.collector.metrics.MetricsServer;
import dev.stackstream.collector.publish.PublishListener;
import dev.stackstream.collector.publish.PublisherStats;
import dev.stackstream.collector.publish.WindowPublisher;
import dev.stackstream.collector.sampling.ProfileKind;
import dev.stackstream.collector.sampling.ProfilerException;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import java.io.IOException;
import java.time.Clock;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running collector, the continuous profiling sidecar as a service: it samples its target, cuts
 * a window every {@link CollectorConfig#window()}, and publishes each window to Kafka with the
 * next sequence number of its run ({@code stackstream collector} is this plus option parsing).
 *
 * <p><b>Start.</b> {@link #start} builds the Kafka publisher (it connects in the background;
 * windows wait in the outage buffer until the broker answers), serves /metrics when configured,
 * and starts sampling on threads of its own: a pid or cgroup target is attached before start
 * returns, a process-regex target by a /proc scan that keeps running. When start throws, nothing
 * is left running.
 *
 * <p><b>Stop.</b> {@link #stop()} (any thread, any number of times, e.g. a shutdown hook) ends
 * sampling; each sampler publishes its current, partial window. A pid or cgroup target that ends
 * stops the collector too. {@link #awaitTermination()} waits for that, then gives the publisher
 * {@link CollectorConfig#shutdownTimeout()} to deliver what is buffered and closes everything.
 * {@link #close()} is stop plus that wait, for try-with-resources.
 *
 * <pre>{@code
 * try (Collector c = Collector.start(config)) {
 *     c.awaitTermination();   // until stop() or the target ends
 * }
 * }</pre>
 *
 * <p>Exceptions (each says what to fix; {@code dev.stackstream.command.ExitStatus} gives their
 * exit status): {@link ProfilerException}, the kernel refused the target (permission, no such
 * process or cgroup, other errno); {@link org.apache.kafka.common.KafkaException}, the Kafka client
 * configuration is invalid; {@link IOException}, the metrics endpoint cannot listen; Kafka's
 * {@link TimeoutException} from awaitTermination, windows were still undelivered when the shutdown
 * timeout passed (the broker was away).
 */
public final class Collector implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Collector.class);

    private final CollectorConfig config;
    private final WindowPublisher publisher;
    private final CollectorMetrics metrics;
    private final MetricsServer server;
    private final Sidecar sidecar;
    private final Object terminationLock = new Object();
    private boolean terminated;

    private Collector(CollectorConfig config, WindowPublisher publisher, CollectorMetrics metrics,
                      MetricsServer server, Sidecar sidecar) {
        this.config = config;
        this.publisher = publisher;
        this.metrics = metrics;
        this.server = server;
        this.sidecar = sidecar;
    }

    /**
     * Starts the collector; see the class comment for what runs and what the exceptions mean.
     */
    public static Collector start(CollectorConfig config) throws ProfilerException, IOException {
        String id = config.collectorId();
        CollectorMetrics metrics = config.metricsAddress() == null ? null
                : CollectorMetrics.create(Map.of("service", config.service(), "collector", id));
        WindowPublisher publisher = null;
        MetricsServer server = null;
        try {
            publisher = new WindowPublisher(config.publisher(), id, Clock.systemUTC(),
                    metrics == null ? PublishListener.NONE : metrics.publishing());
            if (metrics != null) {
                metrics.publishing().bindPublisher(publisher);
                server = serveMetrics(config, metrics);
            }
            Map<String, String> labels = TargetLabels.of(System.getenv(), config.labels());
            Sidecar sidecar = new Sidecar(config.target(), config.sampling(), config.profiles(), config.window(),
                    config.rescan(),
                    config.service(), labels, id, publisher, () -> Symbolizers.create(SymbolizerOptions.defaults()),
                    metrics, Clock.systemUTC());
            sidecar.start();
            LOG.info("collector {} for service {} sampling {} ({}) at {} Hz, unwinding {} with {}-byte stack copies,"
                    + " windows of {} s, to {} (labels {})", id, config.service(), config.target().describe(),
                    config.profiles().stream().map(ProfileKind::profileName).toList(), config.sampling().frequencyHz(),
                    config.sampling().unwind().name().toLowerCase(Locale.ROOT),
                    config.sampling().unwind() == SamplingOptions.Unwind.FP ? 0 : config.sampling().stackBytes(),
                    config.window().toMillis() / 1000.0, config.publisher().bootstrapServers(), labels);
            return new Collector(config, publisher, metrics, server, sidecar);
        } catch (ProfilerException | IOException | RuntimeException | Error e) {
            if (publisher != null) {
                publisher.close(java.time.Duration.ZERO);
            }
            closeQuietly(server, metrics);
            throw e;
        }
    }

    private static MetricsServer serveMetrics(CollectorConfig config, CollectorMetrics metrics) throws IOException {
        try {
            MetricsServer server = MetricsServer.start(config.metricsAddress(), metrics.scrapeHandler());
            LOG.info("metrics on http://{}:{}/metrics", config.metricsAddress().getHostString(), server.port());
            return server;
        } catch (IOException e) {
            throw new IOException("cannot serve metrics on " + config.metricsAddress().getHostString() + ":"
                    + config.metricsAddress().getPort() + ": " + e.getMessage(), e);
        }
    }

    /** Ends sampling; every sampler publishes its current window. Returns at once. */
    public void stop() {
        sidecar.stop();
    }

    /**
     * Waits until sampling ended ({@link #stop()}, or the pid/cgroup target ended), delivers the
     * buffered windows within the shutdown timeout and closes the publisher and the metrics.
     * Returns at once when already terminated.
     *
     * @throws ProfilerException when the kernel refused a process the regex matched (permission)
     * @throws TimeoutException when windows were left undelivered (the broker was away)
     */
    public void awaitTermination() throws ProfilerException, InterruptedException {
        synchronized (terminationLock) {
            if (terminated) {
                return;
            }
            try {
                sidecar.awaitStopped();
            } catch (ProfilerException refusal) {
                terminated = true;
                deliverAndClose();
                throw refusal;
            }
            terminated = true;
            int left = deliverAndClose();
            if (left > 0) {
                throw new TimeoutException(left + " window(s) still undelivered after the shutdown timeout of "
                        + config.shutdownTimeout().toSeconds() + " s: Kafka at "
                        + config.publisher().bootstrapServers() + " did not acknowledge them");
            }
        }
    }

    /** Gives the publisher the shutdown timeout, closes it and the metrics; returns the windows left. */
    private int deliverAndClose() {
        int left = publisher.close(config.shutdownTimeout());
        PublisherStats s = publisher.stats();
        LOG.info("published {} window(s), dropped {}, {} undelivered", s.publishedWindows(), s.droppedWindows(), left);
        closeQuietly(server, metrics);
        return left;
    }

    /** Identity of this run (windows are keyed by it). */
    public String collectorId() {
        return config.collectorId();
    }

    /** Port of the metrics endpoint, when there is one. */
    public OptionalInt metricsPort() {
        return server == null ? OptionalInt.empty() : OptionalInt.of(server.port());
    }

    /** Windows handed to Kafka so far, and what became of them. */
    public PublisherStats stats() {
        return publisher.stats();
    }

    /** Stops and waits for termination; failures of the run are logged, not thrown. */
    @Override
    public void close() {
        stop();
        try {
            awaitTermination();
        } catch (ProfilerException | RuntimeException e) {
            LOG.warn("collector {} ended with: {}", config.collectorId(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(MetricsServer server, CollectorMetrics metrics) {
        if (server != null) {
            server.close();
        }
        if (metrics != null) {
            metrics.close();
        }
    }
}
