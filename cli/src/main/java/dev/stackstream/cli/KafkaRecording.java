package dev.stackstream.cli;

import dev.stackstream.collector.consume.KafkaProfileReader;
import dev.stackstream.collector.publish.KafkaClients;
import dev.stackstream.collector.publish.PublishListener;
import dev.stackstream.collector.publish.PublisherConfig;
import dev.stackstream.collector.publish.PublisherStats;
import dev.stackstream.collector.publish.WindowPublisher;
import dev.stackstream.profile.Profile;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The Kafka leg of one {@code record} run: the sampler's windows go to a {@link WindowPublisher}
 * under a collector id of their own, and {@link #finish} reads every one of them back with a
 * {@link KafkaProfileReader}. The profile {@code record} writes is the one read back, never the
 * windows kept in memory: what the files show went through the broker.
 *
 * <p>Windows may arrive before the broker is known (an embedded broker still starting): they wait
 * here, in order, and are published when {@link #connect} names the broker. The sink side
 * ({@link #accept}) never blocks the sampling loop: the publisher only queues.
 *
 * <p>Thread-safe: windows come from the sampling thread, {@code connect} from the broker's start thread.
 */
final class KafkaRecording implements Consumer<Profile>, AutoCloseable {

    /**
     * What came back.
     *
     * @param profile every window read back and merged; null when none came back
     * @param windowsPublished windows the sampler handed over (sequences 0..windowsPublished-1)
     * @param samplesPublished samples in those windows, counted before they went to Kafka
     * @param samplesRead samples in the profile read back
     * @param problem why the read-back is incomplete or does not match, or null when it is exact
     */
    record ReadBack(Profile profile, long windowsPublished, long samplesPublished, long samplesRead,
                    String problem) {
        boolean exact() {
            return problem == null;
        }
    }

    private final String service;
    private final Map<String, String> labels;
    private final Map<String, String> kafkaProperties;
    private final Clock clock;
    private final boolean singlePartition;
    private final String collectorId = "record-" + UUID.randomUUID();
    private final List<Profile> waiting = new ArrayList<>();
    private WindowPublisher publisher;
    private PublisherConfig config;
    private RuntimeException connectFailure;
    private long nextSequence;
    private long samplesPublished;

    /**
     * @param service service name on the wire
     * @param labels labels of every window
     * @param kafkaProperties client properties from the user (TLS, SASL, compression...)
     * @param singlePartition create absent topics with one partition (a broker of our own)
     * @throws org.apache.kafka.common.config.ConfigException when a client property is invalid, before
     *     anything runs
     */
    KafkaRecording(String service, Map<String, String> labels, Map<String, String> kafkaProperties, Clock clock,
                   boolean singlePartition) {
        this.service = Objects.requireNonNull(service, "service");
        this.labels = Map.copyOf(labels);
        this.kafkaProperties = Map.copyOf(kafkaProperties);
        this.clock = Objects.requireNonNull(clock, "clock");
        this.singlePartition = singlePartition;
        // Validate the producer settings now, so a typo fails before the command runs.
        new ProducerConfig(KafkaClients.producerProperties(config("localhost:9092"), collectorId));
    }

    /** This run's collector id: the key of its windows on the samples topic. */
    String collectorId() {
        return collectorId;
    }

    private PublisherConfig config(String bootstrap) {
        // record keeps instruction offsets: its profile.json and pprof carry them, as perf record's do;
        // the byte savings of function-level windows matter to a sidecar, not to one recording.
        return PublisherConfig.builder(bootstrap).kafkaProperties(kafkaProperties).keepResolvedOffsets(true)
                .topicPartitions(singlePartition ? 1 : 6).build();
    }

    /** Names the broker: creates the publisher and publishes the windows that waited for it. */
    synchronized void connect(String bootstrapServers) {
        if (publisher != null || connectFailure != null) {
            return;
        }
        try {
            config = config(bootstrapServers);
            publisher = new WindowPublisher(config, collectorId, clock, PublishListener.NONE);
        } catch (RuntimeException e) {
            connectFailure = e;
            return;
        }
        long sequence = nextSequence - waiting.size();
        for (Profile w : waiting) {
            publisher.publish(w, service, labels, collectorId, sequence++);
        }
        waiting.clear();
    }

    /** One window from the sampler: numbered and published (or held until the broker is known). */
    @Override
    public synchronized void accept(Profile window) {
        long sequence = nextSequence++;
        samplesPublished += window.totalCount();
        if (publisher != null) {
            publisher.publish(window, service, labels, collectorId, sequence);
        } else {
            waiting.add(window);
        }
    }

    /**
     * Waits until the broker acknowledged every window, then reads them all back, each step bounded by
     * {@code timeout}. Call after the sampler returned (no more windows) and after {@link #connect}.
     */
    ReadBack finish(Duration timeout) throws InterruptedException {
        WindowPublisher p;
        long windows;
        long published;
        PublisherConfig c;
        synchronized (this) {
            if (connectFailure != null) {
                return failed("cannot create the Kafka producer: " + connectFailure.getMessage());
            }
            if (publisher == null) {
                return failed("no broker was connected");
            }
            p = publisher;
            c = config;
            windows = nextSequence;
            published = samplesPublished;
        }
        if (windows == 0) {
            return new ReadBack(null, 0, 0, 0, "the sampler produced no window");
        }
        if (!p.flush(timeout)) {
            PublisherStats s = p.stats();
            return new ReadBack(null, windows, published, 0, "Kafka at " + c.bootstrapServers()
                    + " did not acknowledge " + s.bufferedWindows() + " of " + windows + " window(s) within "
                    + timeout.toSeconds() + " s"
                    + (s.lastError() == null ? "" : " (last error: " + s.lastError() + ")"));
        }
        KafkaProfileReader reader = new KafkaProfileReader(c.bootstrapServers(), consumerProperties(),
                c.samplesTopic(), c.stacksTopic());
        KafkaProfileReader.ReadResult r = reader.read(collectorId, windows - 1, timeout);
        long read = r.profile() == null ? 0 : r.profile().totalCount();
        String problem = null;
        if (!r.complete()) {
            problem = "read back from Kafka at " + c.bootstrapServers() + " within " + timeout.toSeconds() + " s: "
                    + r.describeMissing();
        } else if (read != published || r.undecodable() > 0) {
            problem = "Kafka gave back " + read + " samples, the sampler published " + published
                    + (r.undecodable() > 0 ? " (" + r.undecodable() + " undecodable record(s))" : "");
        }
        return new ReadBack(r.profile(), windows, published, read, problem);
    }

    private synchronized ReadBack failed(String problem) {
        return new ReadBack(null, nextSequence, samplesPublished, 0, problem);
    }

    /** The user's properties a consumer knows (producer-only ones would only be warned about). */
    private Map<String, String> consumerProperties() {
        Map<String, String> p = new HashMap<>();
        kafkaProperties.forEach((k, v) -> {
            if (ConsumerConfig.configNames().contains(k)) {
                p.put(k, v);
            }
        });
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, collectorId + "-reader");
        return p;
    }

    /** Closes the publisher (its windows were delivered by {@link #finish}, or are given up). */
    @Override
    public void close() {
        WindowPublisher p;
        synchronized (this) {
            p = publisher;
        }
        if (p != null) {
            p.close(Duration.ofSeconds(2));
        }
    }
}
