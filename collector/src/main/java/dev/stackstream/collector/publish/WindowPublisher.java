package dev.stackstream.collector.publish;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.StackId;
import dev.stackstream.wire.WireCodec;
import dev.stackstream.wire.WireIndexer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes each window's profile to Kafka: the definitions of stacks not yet (or not recently)
 * sent to the compacted stacks topic, then one {@code SampleBatch} to the samples topic, keyed by
 * collector id so a collector's windows stay in order in one partition.
 *
 * <p>By default ({@link PublisherConfig.WireFormat#V2}) a batch names stacks and threads by small
 * per-collector-run indexes, each bound once in the window that first uses it and repeated only
 * until a window carrying it is acknowledged ({@link WireIndexer}); {@code --wire-format v1}
 * writes the 16-byte stack id and thread name in every entry for readers older than v2.
 *
 * <p>{@link #publish} never blocks on the broker: it encodes the window and appends it to a buffer
 * bounded in bytes. One sender thread delivers the buffer strictly in order, one window at a
 * time, and removes a window only when the broker acknowledged all of its records. While the
 * broker is unreachable the sender keeps retrying with backoff and the sampler keeps sampling;
 * when the buffer is full the oldest windows are dropped and counted. A retried window may reach
 * the topic twice (its first acknowledgement lost); (collector id, sequence) lets readers count it
 * once.
 *
 * <p>Thread-safe. {@link #close(Duration)} delivers what it can within the timeout.
 */
public final class WindowPublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WindowPublisher.class);
    private static final Duration MIN_BACKOFF = Duration.ofMillis(250);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
    /** How often the "still unreachable" warning repeats during an outage. */
    private static final Duration OUTAGE_LOG_INTERVAL = Duration.ofSeconds(30);
    private static final int MAX_TRACKED_DEFINITIONS = 200_000;
    /** Bounds of the v2 index tables: ~150 bytes of heap per binding, ~7 MB when the stack table is full. */
    private static final int MAX_STACK_INDEXES = 50_000;
    private static final int MAX_THREAD_INDEXES = 65_536;

    private final PublisherConfig config;
    private final Clock clock;
    private final PublishListener listener;
    private final Producer<byte[], byte[]> producer;
    /** False for a producer shared with other publishers: its owner closes it. */
    private final boolean ownsProducer;
    private final TopicSetup topics;
    private final Object lock = new Object();
    private final WindowBuffer buffer;
    private final DefinitionTracker definitions;
    private final WireIndexer indexer = new WireIndexer(MAX_STACK_INDEXES, MAX_THREAD_INDEXES);
    /** Function-level stacks of earlier windows, reused (under the lock: windows of many targets). */
    private final FunctionLevel.Reuse functionLevel = new FunctionLevel.Reuse();
    private final Thread sender;
    private boolean closing;
    private boolean closed;

    private long publishedWindows;
    private long droppedWindows;
    private long undeliverableWindows;
    private long undeliverableDefinitions;
    private long droppedBytes;
    private long sentDefinitions;
    private long lastDeliveredSequence = -1;
    private long deliveredBytes;
    private String lastError;

    /**
     * Creates the producer (a bad client property fails here, as a Kafka ConfigException) and
     * starts the sender thread. Does not wait for the broker.
     *
     * @param clientId Kafka client id (the collector id is a good one)
     */
    public WindowPublisher(PublisherConfig config, String clientId, Clock clock, PublishListener listener) {
        this(config, clientId, clock, listener,
                new KafkaProducer<>(KafkaClients.producerProperties(config, clientId)));
    }

    WindowPublisher(PublisherConfig config, String clientId, Clock clock, PublishListener listener,
                    Producer<byte[], byte[]> producer) {
        this(config, clientId, clock, listener, producer, true);
    }

    /**
     * A publisher on a producer shared by many publishers (a load generator's simulated
     * collectors: one producer batches them all, instead of a producer and its connections per
     * collector). Everything else is as for a collector's own publisher; {@link #close(Duration)}
     * leaves the producer open for its owner to close.
     *
     * @param producer made from {@link KafkaClients#producerProperties} (idempotent, acks=all)
     */
    public static WindowPublisher onSharedProducer(PublisherConfig config, String clientId, Clock clock,
                                                   PublishListener listener, Producer<byte[], byte[]> producer) {
        return new WindowPublisher(config, clientId, clock, listener, Objects.requireNonNull(producer, "producer"),
                false);
    }

    private WindowPublisher(PublisherConfig config, String clientId, Clock clock, PublishListener listener,
                            Producer<byte[], byte[]> producer, boolean ownsProducer) {
        this.ownsProducer = ownsProducer;
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.listener = listener == null ? PublishListener.NONE : listener;
        this.producer = producer;
        this.topics = new TopicSetup(config, clientId);
        this.buffer = new WindowBuffer(config.bufferBytes());
        this.definitions = new DefinitionTracker(config.definitionRefresh(), MAX_TRACKED_DEFINITIONS);
        this.sender = new Thread(this::sendLoop, "stackstream-publisher");
        this.sender.setDaemon(true);
        this.sender.start();
    }

    /**
     * Encodes one window and queues it for delivery; returns at once. Unless the config keeps
     * them, frames that symbolization named lose their instruction offset on the wire and stacks
     * that become equal are merged (function granularity; see {@link #wireForm(Profile, PublisherConfig)}).
     *
     * @param window the window's profile (time range = the window)
     * @param service service name
     * @param labels target labels
     * @param collectorId this collector run's id; also the record key
     * @param sequence window number, from 0 without gaps
     * @throws IllegalStateException after close
     */
    public void publish(Profile window, String service, Map<String, String> labels, String collectorId,
                        long sequence) {
        byte[] key = collectorId.getBytes(StandardCharsets.UTF_8);
        Instant now = clock.instant();
        synchronized (lock) {
            if (closing) {
                throw new IllegalStateException("publisher is closed; window " + sequence + " not accepted");
            }
            if (!config.keepResolvedOffsets()) {
                window = functionLevel.of(window);
            }
            // Indexing happens under the lock: which bindings a window must carry depends on which
            // earlier windows were acknowledged (see WireIndexer).
            WireIndexer.Encoded encoded = config.wireFormat() == PublisherConfig.WireFormat.V2
                    ? indexer.encode(window, service, labels, collectorId, sequence)
                    : new WireIndexer.Encoded(WireCodec.encodeWindow(window, service, labels, collectorId, sequence),
                            WireIndexer.Carried.NONE);
            Map<StackId, byte[]> defs = new LinkedHashMap<>();
            for (Sample s : window.samples()) {
                StackId id = s.stack().id();
                if (s.count() > 0 && !defs.containsKey(id) && definitions.needsDefinition(id, now)) {
                    defs.put(id, WireCodec.encodeDefinition(s.stack()));
                }
            }
            WindowBuffer.Dropped dropped = buffer.add(new PendingWindow(sequence, key, encoded.value(), defs, now,
                    collectorId, encoded.carried()));
            if (dropped.windows() > 0) {
                droppedWindows += dropped.windows();
                droppedBytes += dropped.bytes();
                LOG.warn("window buffer full ({} of {} bytes): dropped the {} oldest window(s), {} bytes;"
                                + " {} windows dropped so far", buffer.bytes(), buffer.capacity(), dropped.windows(),
                        dropped.bytes(), droppedWindows);
                listener.windowsDropped(dropped.windows(), dropped.bytes());
            }
            lock.notifyAll();
        }
    }

    /** The profile exactly as {@link #publish} puts it on the wire (what a reader gets back). */
    public static Profile wireForm(Profile window, PublisherConfig config) {
        return config.keepResolvedOffsets() ? window : FunctionLevel.of(window);
    }

    /**
     * Waits until every window published so far was acknowledged, or the timeout passed.
     *
     * @return true when the buffer is empty
     */
    public boolean flush(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            while (!buffer.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            return true;
        }
    }

    /** A snapshot of what the publisher did so far. */
    public PublisherStats stats() {
        synchronized (lock) {
            return new PublisherStats(publishedWindows, droppedWindows, droppedBytes, buffer.size(), buffer.bytes(),
                    buffer.capacity(), sentDefinitions, lastDeliveredSequence, deliveredBytes, lastError,
                    undeliverableWindows, undeliverableDefinitions);
        }
    }

    private void sendLoop() {
        Duration backoff = MIN_BACKOFF;
        Instant outageSince = null;
        Instant lastOutageLog = null;
        while (true) {
            PendingWindow w;
            synchronized (lock) {
                while (buffer.isEmpty() && !closed) {
                    waitQuietly(0);
                }
                if (closed) {
                    return;
                }
                w = buffer.startDelivery();
            }
            try {
                topics.ensure();
                long bytes = deliver(w);
                Instant now = clock.instant();
                synchronized (lock) {
                    buffer.delivered(w);
                    indexer.acknowledged(w.collectorId(), w.bindings());
                    publishedWindows++;
                    lastDeliveredSequence = w.sequence();
                    deliveredBytes += bytes;
                    lock.notifyAll();
                }
                listener.windowPublished(w.sequence(), bytes, Duration.between(w.publishedAt(), now));
                if (outageSince != null) {
                    LOG.info("Kafka at {} reachable again after {} s: delivering buffered windows in order",
                            config.bootstrapServers(), Duration.between(outageSince, now).toSeconds());
                    outageSince = null;
                    lastOutageLog = null;
                }
                backoff = MIN_BACKOFF;
            } catch (UndeliverableException e) {
                // Retrying cannot help and would hold every later window behind this one.
                LOG.error("giving up window {}: {}; later windows go on", w.sequence(), e.getMessage());
                synchronized (lock) {
                    buffer.delivered(w);
                    undeliverableWindows++;
                    lock.notifyAll();
                }
                listener.undeliverable("window", w.key().length + w.batch().length);
            } catch (InterruptedException e) {
                synchronized (lock) {
                    buffer.failed(w);
                    if (closed) {
                        return;
                    }
                }
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                Instant now = clock.instant();
                synchronized (lock) {
                    buffer.failed(w);
                    lastError = describe(e);
                    if (outageSince == null) {
                        outageSince = now;
                    }
                    if (lastOutageLog == null || !now.isBefore(lastOutageLog.plus(OUTAGE_LOG_INTERVAL))) {
                        LOG.error("cannot deliver window {} to Kafka at {} ({}); still sampling, holding {} window(s),"
                                        + " {} of {} buffer bytes, retrying every {} s", w.sequence(),
                                config.bootstrapServers(), lastError, buffer.size(), buffer.bytes(),
                                buffer.capacity(), MAX_BACKOFF.toSeconds());
                        lastOutageLog = now;
                    }
                    if (closed) {
                        return;
                    }
                    waitQuietly(backoff.toMillis());
                    if (closed) {
                        return;
                    }
                }
                listener.deliveryFailed(e);
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
    }

    /** A window whose batch no broker will take: retrying cannot help. */
    private static final class UndeliverableException extends Exception {
        private static final long serialVersionUID = 1L;

        UndeliverableException(String message) {
            super(message);
        }
    }

    /**
     * Sends the window's definitions, then its batch, and waits for every acknowledgement.
     *
     * @throws UndeliverableException when the batch is larger than a record may be
     */
    private long deliver(PendingWindow w) throws Exception {
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        List<StackId> sentIds = new ArrayList<>();
        long bytes = 0;
        Instant now = clock.instant();
        for (Map.Entry<StackId, byte[]> d : w.definitions().entrySet()) {
            boolean needed;
            synchronized (lock) {
                needed = definitions.needsDefinition(d.getKey(), now);
            }
            if (needed) {
                acks.add(producer.send(new ProducerRecord<>(config.stacksTopic(), d.getKey().toBytes(), d.getValue())));
                sentIds.add(d.getKey());
                bytes += 16 + d.getValue().length;
            }
        }
        Future<RecordMetadata> batchAck = producer.send(new ProducerRecord<>(config.samplesTopic(), w.key(), w.batch()));
        acks.add(batchAck);
        bytes += w.key().length + w.batch().length;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<StackId> tooLarge = new ArrayList<>();
        for (int i = 0; i < acks.size(); i++) {
            long left = deadline - System.nanoTime();
            try {
                acks.get(i).get(Math.max(1, left), TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof RecordTooLargeException tooBig) {
                    if (acks.get(i) == batchAck) {
                        throw new UndeliverableException("its batch of " + w.batch().length + " bytes is larger"
                                + " than a record may be (" + tooBig.getMessage() + ")");
                    }
                    // A definition no broker takes (a stack of very long C++ names): the window's
                    // counts still go; that stack renders as unknown, and it is not offered again.
                    StackId id = sentIds.get(i);
                    LOG.error("giving up the definition of stack {} ({} bytes, larger than a record may be); its"
                            + " samples still count, as an unknown stack", id.toHex(), w.definitions().get(id).length);
                    tooLarge.add(id);
                    continue;
                }
                throw e.getCause() instanceof Exception cause ? cause : e;
            } catch (TimeoutException e) {
                throw new TimeoutException("no acknowledgement within 60 s");
            }
        }
        for (StackId id : tooLarge) {
            listener.undeliverable("definition", w.definitions().get(id).length);
        }
        Instant acked = clock.instant();
        synchronized (lock) {
            for (StackId id : sentIds) {
                definitions.sent(id, acked);
            }
            sentDefinitions += sentIds.size() - tooLarge.size();
            undeliverableDefinitions += tooLarge.size();
        }
        return bytes;
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private void waitQuietly(long millis) {
        try {
            lock.wait(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    /**
     * Stops accepting windows, delivers the buffered ones for up to {@code timeout}, then closes the
     * producer. Windows not delivered by then are lost; the return value says how many.
     *
     * @return windows left undelivered
     */
    public int close(Duration timeout) {
        synchronized (lock) {
            if (closed) {
                return buffer.size();
            }
            closing = true;
        }
        boolean drained;
        try {
            drained = flush(timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            drained = false;
        }
        int left;
        synchronized (lock) {
            closed = true;
            left = buffer.size();
            lock.notifyAll();
        }
        if (!drained) {
            LOG.warn("closing the publisher with {} window(s) ({} bytes) not delivered to {}", left, stats().bufferedBytes(),
                    config.bootstrapServers());
        }
        if (ownsProducer) {
            producer.close(Duration.ofSeconds(2));
        }
        try {
            sender.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        topics.close();
        return left;
    }

    /** {@link #close(Duration)} with 30 s to deliver. */
    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }
}
