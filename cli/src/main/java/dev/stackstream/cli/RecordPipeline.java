package dev.stackstream.cli;

import dev.stackstream.collector.ProfileReports;
import dev.stackstream.collector.Recorder;
import dev.stackstream.collector.sampling.ProfilerException;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.command.CommandFailure;
import dev.stackstream.command.ExitStatus;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.apache.kafka.common.KafkaException;

/**
 * One on-demand recording through the whole pipeline, the service behind {@code stackstream record}:
 * the sampler's 1 s windows go to Kafka ({@link KafkaRecording}: a broker named by
 * {@link Config#bootstrapServers()}, else a single-node broker started in this JVM for the run,
 * {@link RecordBroker}), are read back by a consumer and merged, and that profile — the one that
 * went through the broker — is written in every output format.
 *
 * <p>An external broker is checked before the command starts, so a wrong address fails at once; an
 * embedded broker starts while the command already runs (the command itself starts only once the
 * sampler is attached). {@link #stop()} (Ctrl-C) ends the recording early; what was sampled is still
 * published, read back and written.
 *
 * <p>Failures are {@link CommandFailure}s with record's own statuses: {@link ExitStatus#RECORD_FAILED}
 * when profiling or the Kafka leg failed, {@link ExitStatus#CANNOT_EXECUTE} / {@link ExitStatus#NOT_FOUND}
 * when the command cannot be executed / is not found, as shells report them. A read-back that
 * came back incomplete or different is not thrown: its outputs are written and
 * {@link Result#readBack()} says what is missing.
 */
public final class RecordPipeline {
    /** Sampler window: each one becomes one record on the samples topic. */
    private static final Duration WINDOW = Duration.ofSeconds(1);
    /** Least time the embedded broker is given to start (it normally takes 2-5 s). */
    private static final Duration EMBEDDED_START = Duration.ofMinutes(2);

    /**
     * What to record and where to.
     *
     * @param sampling sampler settings (record follows the children of a command)
     * @param duration when to stop profiling, or null for the target's end
     * @param service the service label of the profile
     * @param pid a running process to profile, or null
     * @param command the command to run and profile, or null (exactly one of pid and command)
     * @param bootstrapServers the Kafka to record through, or null for a broker of the run's own
     * @param kafkaProperties client properties (TLS, SASL, compression...)
     * @param kafkaTimeout bound for reaching Kafka at the start and for reading back at the end
     * @param output directory for the outputs
     */
    public record Config(SamplingOptions sampling, Duration duration, String service, Integer pid, List<String> command,
                         String bootstrapServers, Map<String, String> kafkaProperties, Duration kafkaTimeout,
                         Path output) {
        public Config {
            Objects.requireNonNull(sampling, "sampling");
            Objects.requireNonNull(service, "service");
            Objects.requireNonNull(output, "output");
            kafkaProperties = Map.copyOf(kafkaProperties);
            if ((pid == null) == (command == null)) {
                throw new IllegalArgumentException("name either a pid or a command to record");
            }
            command = command == null ? null : List.copyOf(command);
            if (kafkaTimeout.isNegative() || kafkaTimeout.isZero()) {
                throw new IllegalArgumentException("the Kafka timeout must be positive, got " + kafkaTimeout);
            }
        }

        /** The target as the user named it: "pid 42" or the command line. */
        String what() {
            return pid != null ? "pid " + pid : String.join(" ", command);
        }
    }

    /**
     * A recording whose profile came back from Kafka and was written.
     *
     * @param commandStatus the command's exit status as a shell reports it (0 for a pid)
     * @param kernelFrames whether kernel frames were captured
     * @param readBack what came back, and what is missing when it is not exact
     * @param files the files written
     * @param collectorId the collector id the windows were published under
     * @param broker one line naming the broker used
     * @param summary the text summary written to summary.txt (the profile's, then the sampler's
     *                unwinding block: mode, stack copy, stacks cut by reason)
     */
    public record Result(int commandStatus, boolean kernelFrames, KafkaRecording.ReadBack readBack, List<Path> files,
                         String collectorId, String broker, String summary) {
        public Profile profile() {
            return readBack.profile();
        }
    }

    private final Config config;
    private final Recorder recorder;

    public RecordPipeline(Config config) {
        this.config = Objects.requireNonNull(config, "config");
        this.recorder = new Recorder(config.sampling(), WINDOW, config.duration(), Clock.systemUTC());
    }

    /** Ends the recording early (any thread); {@link #run} still publishes, reads back and writes. */
    public void stop() {
        recorder.stop();
    }

    /**
     * Records, reads the profile back and writes the outputs.
     *
     * @param notices lines for the user while it runs: which broker, a broker that failed to start
     * @throws CommandFailure when nothing could be written (see the class comment)
     */
    public Result run(Consumer<String> notices) {
        // The broker first: a wrong address must fail before the command runs, and an embedded
        // broker's start (the longest step) begins as early as possible.
        RecordBroker embedded = config.bootstrapServers() == null ? RecordBroker.embedded() : null;
        KafkaRecording kafka = kafkaLeg(embedded);
        RecordBroker broker;
        try {
            broker = embedded != null ? embedded : externalBroker();
        } catch (CommandFailure e) {
            kafka.close();
            throw e;
        }
        broker.whenReady(kafka::connect);
        // Said at once, not after a long command: the command is not killed (its work matters more),
        // but record will end with status 125 and no profile.
        broker.whenFailed(e -> notices.accept("the embedded Kafka broker could not start (" + e.getMessage()
                + "); the command keeps running, but no profile can be written"));
        try (broker; kafka; Symbolizer symbolizer = Symbolizers.create(SymbolizerOptions.defaults())) {
            Recorder.Result recorded = record(symbolizer, kafka);
            if (recorded.stats().allocUnprobed() > 0) {
                notices.accept(recorded.stats().allocUnprobed() + " process(es) of the command run a static binary"
                        + " (no shared C library): their malloc/calloc/realloc cannot be probed, and their"
                        + " allocations are missing from the alloc profile");
            }
            KafkaRecording.ReadBack back = readBack(broker, kafka, notices);
            String summary = ProfileReports.summary(back.profile(), recorded.stats());
            List<Path> files = write(back.profile(), recorded.kernelFrames(), summary);
            return new Result(recorded.exitStatus().orElse(0), recorded.kernelFrames(), back, files,
                    kafka.collectorId(), broker.describe(), summary);
        }
    }

    private KafkaRecording kafkaLeg(RecordBroker embedded) {
        try {
            return new KafkaRecording(config.service(), Map.of(), config.kafkaProperties(), Clock.systemUTC(),
                    embedded != null);
        } catch (KafkaException e) {
            if (embedded != null) {
                embedded.close();
            }
            throw new CommandFailure(ExitStatus.RECORD_FAILED, "invalid Kafka client property (--kafka-property): "
                    + e.getMessage(), e);
        }
    }

    private RecordBroker externalBroker() {
        try {
            return RecordBroker.external(config.bootstrapServers(), config.kafkaProperties(), config.kafkaTimeout());
        } catch (RecordBroker.UnavailableException e) {
            throw new CommandFailure(ExitStatus.RECORD_FAILED, e.getMessage(), e);
        }
    }

    private Recorder.Result record(Symbolizer symbolizer, KafkaRecording kafka) {
        try {
            return config.pid() != null
                    ? recorder.recordPid(config.pid(), symbolizer, kafka)
                    : recorder.recordCommand(config.command(), symbolizer, kafka);
        } catch (ProfilerException e) {
            throw new CommandFailure(statusFor(e), e.getMessage(), e);
        }
    }

    /** Waits for every window to be acknowledged and reads them back; fails when none came back. */
    private KafkaRecording.ReadBack readBack(RecordBroker broker, KafkaRecording kafka, Consumer<String> notices) {
        Duration wait = config.kafkaTimeout();
        try {
            // connect() is idempotent: whenReady may still be running it on the broker's start thread.
            kafka.connect(broker.bootstrapServers(broker.isEmbedded() ? max(wait, EMBEDDED_START) : wait));
        } catch (RecordBroker.UnavailableException e) {
            throw new CommandFailure(ExitStatus.RECORD_FAILED, e.getMessage() + "; nothing was written", e);
        }
        notices.accept(broker.describe());
        KafkaRecording.ReadBack back;
        try {
            back = kafka.finish(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandFailure(ExitStatus.RECORD_FAILED, "interrupted while reading the profile back from Kafka");
        }
        if (back.profile() == null) {
            throw new CommandFailure(ExitStatus.RECORD_FAILED, back.problem() + "; nothing was written");
        }
        return back;
    }

    /** How the profile was sampled and how much it holds, in its type's terms (the graphs' subtitle). */
    private String sampled(Profile profile) {
        ProfileType t = profile.type();
        return switch (config.sampling().event()) {
            case OFF_CPU -> String.format(java.util.Locale.ROOT, "every context switch, %.3f s off CPU",
                    profile.totalCount() * t.period() / 1e9);
            case WALL -> String.format(java.util.Locale.ROOT, "%d Hz on CPU + every context switch, %.3f s",
                    config.sampling().frequencyHz(), profile.totalCount() * t.period() / 1e9);
            case PAGE_FAULTS, CONTEXT_SWITCHES -> "one sample every " + t.period() + " event(s), "
                    + profile.totalCount() + " samples";
            case CPU_CLOCK -> config.sampling().frequencyHz() + " Hz, " + profile.totalCount() + " samples";
            case ALLOC -> String.format(java.util.Locale.ROOT, "about one sample every %,d bytes allocated, %.1f MiB"
                    + " estimated", config.sampling().allocIntervalBytes(), profile.totalCount() * t.period() / 1048576.0);
        };
    }

    private List<Path> write(Profile profile, boolean kernelFrames, String summary) {
        RenderOptions render = RenderOptions.forType(profile.type().name())
                .withTitle("stackstream record (" + profile.type().name() + "): " + config.what())
                .withSubtitle(sampled(profile) + (kernelFrames ? ", kernel frames" : ", user frames only"));
        try {
            return ProfileReports.writeAll(profile, config.output(), render, summary);
        } catch (IOException | RuntimeException e) {
            throw new CommandFailure(ExitStatus.RECORD_FAILED, "cannot write the outputs into "
                    + config.output().toAbsolutePath() + ": " + e, e);
        }
    }

    /** 127 / 126 when the command could not be started (not found / not executable), else 125. */
    private static int statusFor(ProfilerException e) {
        if (!e.commandNotStarted()) {
            return ExitStatus.RECORD_FAILED;
        }
        return switch (e.exitStatus()) {
            case ExitStatus.TARGET_MISSING -> ExitStatus.NOT_FOUND;
            case ExitStatus.PERMISSION -> ExitStatus.CANNOT_EXECUTE;
            default -> ExitStatus.RECORD_FAILED;
        };
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
