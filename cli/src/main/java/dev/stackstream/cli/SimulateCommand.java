package dev.stackstream.cli;

import dev.stackstream.aggregator.engine.DurationText;
import dev.stackstream.aggregator.query.ApiException;
import dev.stackstream.aggregator.query.TimeExpression;
import dev.stackstream.collector.publish.KafkaClients;
import dev.stackstream.collector.publish.PublishListener;
import dev.stackstream.collector.publish.PublisherConfig;
import dev.stackstream.collector.publish.PublisherStats;
import dev.stackstream.collector.publish.WindowPublisher;
import dev.stackstream.command.CommandFailure;
import dev.stackstream.command.ExitStatus;
import dev.stackstream.profile.Profile;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code stackstream simulate}: a load generator for capacity planning, like Kafka's producer perf
 * test but for stackstream's own records. N simulated collectors (each its own collector id and
 * {@code pod} label) publish windows of {@link SimulatedWorkload} through the collector's
 * {@link WindowPublisher} (the real wire format, indexes, stack definitions and delivery rules),
 * all on one shared idempotent producer. Windows that ended before the command started are
 * backfilled at once; windows ending later are published live, each when its end passes.
 *
 * <p>It prints what it sent once the broker acknowledged every window, and exits 0 then. Kafka
 * unreachable for {@code --timeout}: 6; a client property the producer refuses: 5; a window the
 * publisher dropped or gave up: 1.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Publishes windows of N simulated collectors (one pod each) to Kafka, for load tests and"
                + " capacity planning: K deterministic stacks (one path 70 %% of the samples), backfilled over"
                + " --from..--to, or live for windows that end in the future. Prints the windows, entries and"
                + " samples sent once the broker acknowledged all of them.",
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:everything sent was acknowledged", "1:a window was dropped or refused by the broker",
            "2:bad option", "5:the Kafka client configuration is invalid or refused",
            "6:Kafka did not acknowledge within --timeout"})
public final class SimulateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT",
            defaultValue = "${env:STACKSTREAM_BOOTSTRAP_SERVERS}", description = "Kafka (env STACKSTREAM_BOOTSTRAP_SERVERS).")
    String bootstrapServers;

    @Option(names = "--service", required = true, paramLabel = "NAME", description = "Service name of every pod.")
    String service;

    @Option(names = "--pods", defaultValue = "1", paramLabel = "N", description = "Simulated collectors (default ${DEFAULT-VALUE}).")
    int pods;

    @Option(names = "--stacks", defaultValue = "100", paramLabel = "K", description = "Distinct stacks (default ${DEFAULT-VALUE}).")
    int stacks;

    @Option(names = "--from", defaultValue = "now-24h", paramLabel = "TIME",
            description = "First window (RFC 3339, now, now-1h, now+5m; default ${DEFAULT-VALUE}).")
    String from;

    @Option(names = "--to", defaultValue = "now", paramLabel = "TIME",
            description = "No window ends after it (default ${DEFAULT-VALUE}); later than now = live.")
    String to;

    @Option(names = "--window", defaultValue = "10s", paramLabel = "DURATION",
            description = "Window length, e.g. 10s, 1m, 1h (default ${DEFAULT-VALUE}); windows start at multiples of it.")
    String window;

    @Option(names = "--rate", defaultValue = "99", paramLabel = "HZ",
            description = "Samples per second per pod (default ${DEFAULT-VALUE}).")
    int rateHz;

    @Option(names = "--labels", split = ",", paramLabel = "K=V",
            description = "Labels of every pod besides pod=<service>-<n>, e.g. zone=a,version=2.")
    Map<String, String> labels = new LinkedHashMap<>();

    @Option(names = "--seed", defaultValue = "1", paramLabel = "S", description = "Seed of the stacks (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--samples-topic", defaultValue = PublisherConfig.DEFAULT_SAMPLES_TOPIC, description = "Default ${DEFAULT-VALUE}.")
    String samplesTopic;

    @Option(names = "--stacks-topic", defaultValue = PublisherConfig.DEFAULT_STACKS_TOPIC, description = "Default ${DEFAULT-VALUE}.")
    String stacksTopic;

    @Option(names = "--topic-partitions", defaultValue = "6", description = "Partitions of topics it creates (default ${DEFAULT-VALUE}).")
    int topicPartitions;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE", description = "Any Kafka producer property (repeatable).")
    Map<String, String> kafkaProperties = new LinkedHashMap<>();

    @Option(names = "--timeout", defaultValue = "60", paramLabel = "SECONDS",
            description = "Give up (status 6) when the broker acknowledged nothing for this long (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    /** Per-pod buffer: windows wait here until acknowledged; rounds pause before it could overflow. */
    private static final long BUFFER_BYTES = 16L << 20;

    /** What a run sent, all acknowledged. */
    record Totals(long windows, long entries, long samples) { }

    @Override
    public Integer call() throws InterruptedException {
        Clock clock = Clock.systemUTC();
        Instant now = clock.instant();
        Duration windowLength = duration("--window", window);
        Instant start = time("--from", from, now);
        Instant end = time("--to", to, now);
        validate(windowLength, start, end);
        Totals t = run(clock, windowLength, start, end);
        spec.commandLine().getOut().printf("sent %d windows, %d entries, %d samples for %d pods of %s (all acknowledged)%n",
                t.windows(), t.entries(), t.samples(), pods, service);
        return ExitStatus.OK;
    }

    private void validate(Duration windowLength, Instant start, Instant end) {
        if (pods < 1 || pods > 100_000) {
            throw new ParameterException(spec.commandLine(), "--pods must be 1..100000, got " + pods);
        }
        if (stacks < 1 || stacks > 100_000) {
            throw new ParameterException(spec.commandLine(), "--stacks must be 1..100000, got " + stacks);
        }
        if (rateHz < 1 || rateHz > 100_000) {
            throw new ParameterException(spec.commandLine(), "--rate must be 1..100000 Hz, got " + rateHz);
        }
        if (windowLength.compareTo(Duration.ofSeconds(1)) < 0 || windowLength.compareTo(Duration.ofDays(1)) > 0) {
            throw new ParameterException(spec.commandLine(), "--window must be 1s..1d, got " + window);
        }
        if (!end.isAfter(start)) {
            throw new ParameterException(spec.commandLine(), "--to (" + end + ") must be after --from (" + start + ")");
        }
        long first = Math.floorDiv(start.toEpochMilli(), windowLength.toMillis()) * windowLength.toMillis();
        if (first + windowLength.toMillis() > end.toEpochMilli()) {
            throw new ParameterException(spec.commandLine(), "no whole " + window + " window ends between --from ("
                    + start + ") and --to (" + end + ")");
        }
        if (service.isBlank()) {
            throw new ParameterException(spec.commandLine(), "--service must not be empty");
        }
        if (timeoutSeconds < 1) {
            throw new ParameterException(spec.commandLine(), "--timeout must be >= 1 second");
        }
    }

    private Duration duration(String option, String text) {
        try {
            return DurationText.parse(text);
        } catch (RuntimeException e) {
            throw new ParameterException(spec.commandLine(), option + ": '" + text + "' is not a duration (10s, 1m, 1h)");
        }
    }

    /** A query time ({@link TimeExpression}) or {@code now+DURATION} for a live run's end. */
    private Instant time(String option, String text, Instant now) {
        String t = text.trim();
        if (t.startsWith("now+")) {
            return now.plus(duration(option, t.substring(4)));
        }
        try {
            return TimeExpression.parse(option, t, now);
        } catch (ApiException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private Totals run(Clock clock, Duration windowLength, Instant start, Instant end) throws InterruptedException {
        SimulatedWorkload workload = new SimulatedWorkload(stacks, rateHz, seed);
        long windowMillis = windowLength.toMillis();
        long first = Math.floorDiv(start.toEpochMilli(), windowMillis) * windowMillis;
        long samplesPerWindow = Math.round(rateHz * (windowMillis / 1000.0));
        String run = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xFFFF_FFFFL);
        AtomicLong dropped = new AtomicLong();
        PublishListener listener = new PublishListener() {
            @Override
            public void windowsDropped(int windows, long bytes) {
                dropped.addAndGet(windows);
            }
        };
        Map<String, String> props = new TreeMap<>(kafkaProperties);
        PublisherConfig.Builder builder = PublisherConfig.builder(bootstrapServers).kafkaProperties(props)
                .samplesTopic(samplesTopic).stacksTopic(stacksTopic).topicPartitions(topicPartitions)
                .bufferBytes(BUFFER_BYTES);
        String clientId = "stackstream-simulate-" + run;
        List<Pod> fleet = new ArrayList<>(pods);
        long windows = 0;
        long entries = 0;
        long samples = 0;
        try (Producer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClients.producerProperties(
                builder.createTopics(true).build(), clientId))) {
            try {
                for (int i = 0; i < pods; i++) {
                    // The first pod creates missing topics; the rest wait for it (see below).
                    PublisherConfig config = builder.createTopics(i == 0).build();
                    fleet.add(new Pod(WindowPublisher.onSharedProducer(config, clientId, clock, listener, producer),
                            "sim-" + service + "-" + i + "-" + run, podLabels(i)));
                }
                long sequence = 0;
                // Only whole windows inside --to: a window ending after it is outside the range (and with
                // --to now and 1 h windows would make a backfill wait up to an hour for the current one).
                for (long w = first; w + windowMillis <= end.toEpochMilli(); w += windowMillis, sequence++) {
                    long windowEnd = w + windowMillis;
                    long wait = windowEnd - clock.millis();
                    if (wait > 0) {
                        // A live window: published when it closes, as a collector does.
                        awaitAll(fleet, dropped);
                        Thread.sleep(wait);
                    }
                    Profile p = workload.window(Instant.ofEpochMilli(w), Instant.ofEpochMilli(windowEnd), samplesPerWindow);
                    for (int i = 0; i < fleet.size(); i++) {
                        Pod pod = fleet.get(i);
                        pod.publisher.publish(p, service, pod.labels, pod.collectorId, sequence);
                        if (sequence == 0 && i == 0) {
                            awaitAll(fleet.subList(0, 1), dropped);   // topics exist before the others send
                        }
                    }
                    windows += fleet.size();
                    entries += (long) fleet.size() * p.samples().size();
                    samples += (long) fleet.size() * p.totalCount();
                    if (fleet.get(0).publisher.stats().bufferedBytes() > BUFFER_BYTES / 2) {
                        awaitAll(fleet, dropped);
                    }
                }
                awaitAll(fleet, dropped);
            } finally {
                for (Pod pod : fleet) {
                    pod.publisher.close(Duration.ZERO);
                }
            }
        }
        return new Totals(windows, entries, samples);
    }

    private Map<String, String> podLabels(int index) {
        Map<String, String> out = new TreeMap<>(labels);
        out.put("pod", service + "-" + index);
        return Map.copyOf(out);
    }

    /** Waits until every pod's windows were acknowledged; fails on a drop or a silent broker. */
    private void awaitAll(List<Pod> fleet, AtomicLong dropped) throws InterruptedException {
        for (Pod pod : fleet) {
            long lastDelivered = -2;
            while (!pod.publisher.flush(Duration.ofSeconds(timeoutSeconds))) {
                PublisherStats st = pod.publisher.stats();
                if (st.lastDeliveredSequence() == lastDelivered) {
                    throw new CommandFailure(ExitStatus.KAFKA_UNREACHABLE, "Kafka at " + bootstrapServers
                            + " acknowledged nothing for " + timeoutSeconds + " s (" + st.bufferedWindows()
                            + " windows of " + pod.collectorId + " waiting; last error: " + st.lastError() + ")");
                }
                lastDelivered = st.lastDeliveredSequence();
            }
            PublisherStats st = pod.publisher.stats();
            if (dropped.get() > 0 || st.undeliverableWindows() > 0) {
                throw new CommandFailure(ExitStatus.FAILURE, dropped.get() + " window(s) dropped and "
                        + st.undeliverableWindows() + " refused by the broker (" + pod.collectorId + ")");
            }
        }
    }

    private record Pod(WindowPublisher publisher, String collectorId, Map<String, String> labels) { }
}
