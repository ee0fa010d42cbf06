package dev.stackstream.cli;

import dev.stackstream.broker.EmbeddedKafka;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.KafkaException;

/**
 * The Kafka broker one {@code record} run goes through: either a broker the user named with
 * {@code --bootstrap-servers} (checked to answer before anything is profiled), or a single-node KRaft
 * broker started inside this JVM for the run and closed after it.
 *
 * <p>The embedded broker starts on a thread of its own, so its 2-5 s start overlaps the recording
 * (windows wait in {@link KafkaRecording} until it is up). {@link #bootstrapServers(Duration)}
 * waits for it. If the run is abandoned before the broker is up, the start thread closes it when it
 * gets there, so an early failure (no such pid) does not wait for a broker nobody needs.
 */
final class RecordBroker implements AutoCloseable {

    /** Why the broker cannot be used; the message names the address and the cause. */
    static final class UnavailableException extends Exception {
        UnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final String external;
    private final CompletableFuture<EmbeddedKafka> embedded;
    private final long startNanos = System.nanoTime();
    private volatile long startedNanos;
    private final Object lock = new Object();
    private boolean closed;

    private RecordBroker(String external, CompletableFuture<EmbeddedKafka> embedded) {
        this.external = external;
        this.embedded = embedded;
    }

    /**
     * A broker the user runs. Checks that it answers (cluster metadata through an admin client)
     * within {@code timeout}, so a wrong address fails before the command runs, not after.
     *
     * @throws UnavailableException naming the address when it does not answer in time
     */
    static RecordBroker external(String bootstrapServers, Map<String, String> kafkaProperties, Duration timeout)
            throws UnavailableException {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        checkReachable(bootstrapServers, kafkaProperties, timeout);
        RecordBroker b = new RecordBroker(bootstrapServers, null);
        b.startedNanos = b.startNanos;
        return b;
    }

    /** Starts a single-node KRaft broker in this JVM on a background thread; returns at once. */
    static RecordBroker embedded() {
        CompletableFuture<EmbeddedKafka> future = new CompletableFuture<>();
        RecordBroker b = new RecordBroker(null, future);
        Thread starter = new Thread(() -> b.startEmbedded(future), "stackstream-record-kafka");
        starter.setDaemon(true);
        starter.start();
        return b;
    }

    private void startEmbedded(CompletableFuture<EmbeddedKafka> future) {
        try {
            EmbeddedKafka.Builder builder = EmbeddedKafka.builder();
            if (System.getProperty("stackstream.broker.mode") == null) {
                // record promises an in-JVM broker: a container (chosen by AUTO when Docker answers)
                // would pull an image and outlive a killed JVM.
                builder.mode(EmbeddedKafka.Mode.IN_JVM);
            }
            EmbeddedKafka kafka;
            // The test kit's storage formatter prints "Formatting metadata directory ..." on
            // System.out, which is record's stdout (the summary). Nothing else of this JVM writes
            // there while the broker starts (the command writes to its own inherited fd).
            PrintStream stdout = System.out;
            PrintStream discard = new PrintStream(OutputStream.nullOutputStream());
            System.setOut(discard);
            try {
                kafka = builder.start();
            } finally {
                if (System.out == discard) {
                    System.setOut(stdout);
                }
            }
            startedNanos = System.nanoTime();
            synchronized (lock) {
                if (closed) {
                    kafka.close(); // the run ended before the broker was needed
                    future.completeExceptionally(new IllegalStateException("record ended before Kafka started"));
                    return;
                }
            }
            future.complete(kafka);
        } catch (Exception | Error e) {
            future.completeExceptionally(e);
        }
    }

    /**
     * Runs {@code action} with the broker's address once it is known: at once for an external
     * broker, on the start thread for an embedded one (never if it fails to start).
     */
    void whenReady(java.util.function.Consumer<String> action) {
        if (external != null) {
            action.accept(external);
        } else {
            embedded.thenAccept(k -> action.accept(k.bootstrapServers()));
        }
    }

    /** Runs {@code action} on the start thread if the embedded broker fails to start (not when closed early). */
    void whenFailed(java.util.function.Consumer<Throwable> action) {
        if (embedded != null) {
            embedded.exceptionally(e -> {
                synchronized (lock) {
                    if (!closed) {
                        action.accept(e);
                    }
                }
                return null;
            });
        }
    }

    /** True for a broker this run started (and closes). */
    boolean isEmbedded() {
        return embedded != null;
    }

    /**
     * The broker's address, waiting up to {@code timeout} for an embedded broker to start.
     *
     * @throws UnavailableException when the embedded broker failed or did not start in time
     */
    String bootstrapServers(Duration timeout) throws UnavailableException {
        if (external != null) {
            return external;
        }
        return awaitEmbedded(timeout).bootstrapServers();
    }

    /** The embedded broker once started, else null (never waits). */
    EmbeddedKafka embeddedNow() {
        return embedded != null && embedded.isDone() && !embedded.isCompletedExceptionally() ? embedded.join() : null;
    }

    private EmbeddedKafka awaitEmbedded(Duration timeout) throws UnavailableException {
        try {
            return embedded.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new UnavailableException("the embedded Kafka broker did not start within " + timeout.toSeconds()
                    + " s", e);
        } catch (ExecutionException e) {
            throw new UnavailableException("the embedded Kafka broker could not start: " + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException("interrupted while waiting for the embedded Kafka broker", e);
        }
    }

    /** One line for the user: which broker this run used. Call after {@link #bootstrapServers}. */
    String describe() {
        if (external != null) {
            return "Kafka at " + external + " (--bootstrap-servers)";
        }
        EmbeddedKafka k = embeddedNow();
        String mode = k == null ? "?" : switch (k.mode()) {
            case IN_JVM -> "embedded single-node KRaft broker in this JVM";
            case FORKED -> "embedded single-node KRaft broker, forked process";
            case CONTAINER -> "single-node KRaft broker in a Testcontainers container";
            case AUTO -> "embedded broker";
        };
        return "Kafka at " + (k == null ? "?" : k.bootstrapServers()) + " (" + mode + ", started in "
                + String.format(java.util.Locale.ROOT, "%.1f", startDuration().toMillis() / 1000.0) + " s)";
    }

    /** How long the embedded broker took to accept clients (zero for an external one). */
    Duration startDuration() {
        long done = startedNanos;
        return done == 0 ? Duration.ZERO : Duration.ofNanos(done - startNanos);
    }

    /** Closes an embedded broker (now, or when its start finishes); an external one is left alone. */
    @Override
    public void close() {
        if (embedded == null) {
            return;
        }
        synchronized (lock) {
            closed = true;
        }
        // Not started yet: the start thread sees `closed` and closes it itself.
        EmbeddedKafka k = embeddedNow();
        if (k != null) {
            k.close();
        }
    }

    private static void checkReachable(String bootstrap, Map<String, String> kafkaProperties, Duration timeout)
            throws UnavailableException {
        Map<String, Object> p = new HashMap<>();
        kafkaProperties.forEach((k, v) -> {
            if (AdminClientConfig.configNames().contains(k)) {
                p.put(k, v); // security settings reach every client; producer-only ones would be warned about
            }
        });
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(CommonClientConfigs.CLIENT_ID_CONFIG, "stackstream-record-check");
        int ms = (int) Math.max(1000, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        p.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(ms));
        p.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(ms));
        String hint = "; is a broker running there? (without --bootstrap-servers record starts its own)";
        Admin admin = null;
        try {
            admin = Admin.create(p);
            admin.describeCluster().clusterId().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new UnavailableException("cannot reach Kafka at " + bootstrap + ": no answer within "
                    + timeout.toSeconds() + " s" + hint, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
                throw new UnavailableException("cannot reach Kafka at " + bootstrap + ": no broker answered within "
                        + timeout.toSeconds() + " s" + hint, e.getCause());
            }
            throw new UnavailableException("cannot reach Kafka at " + bootstrap + ": " + describe(e.getCause()) + hint,
                    e.getCause());
        } catch (KafkaException e) {
            // Bad address (no resolvable bootstrap URL) or bad client property.
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new UnavailableException("cannot use Kafka at " + bootstrap + ": " + describe(cause), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException("interrupted while checking Kafka at " + bootstrap, e);
        } finally {
            if (admin != null) {
                admin.close(Duration.ZERO); // do not wait for the call that timed out
            }
        }
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
