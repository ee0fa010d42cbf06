package dev.stackstream.cli;

import dev.stackstream.collector.ProfileReports;
import dev.stackstream.collector.sampling.ProfileKind;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.collector.sidecar.ProfileKindConverter;
import dev.stackstream.collector.sidecar.UnwindOptions;
import dev.stackstream.command.CommandFailure;
import dev.stackstream.command.ExitStatus;
import dev.stackstream.command.KafkaClientProperties;
import dev.stackstream.command.StopOnSignal;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code stackstream record}: an on-demand profile, like {@code perf record} and {@code perf
 * report} in one. Profiles a command and every process it starts, or a running process, then
 * writes every output format and the summary into the output directory and prints the summary.
 *
 * <p>This class parses the options into a {@link RecordPipeline.Config} and runs the
 * {@link RecordPipeline} (the whole pipeline: sampler, Kafka, read-back, outputs); it prints the
 * summary and what was written.
 *
 * <p>Exit status: the command's own exit status when profiling worked (0 for --pid);
 * {@value #EXIT_PROFILING_FAILED} when profiling itself failed (the message says why and how to fix
 * it); 126/127 when the command cannot be executed / is not found, as shells do; 2 for bad usage
 * ({@link ExitStatus}). Ctrl-C or SIGTERM stop the recording cleanly: the outputs are still written.
 */
@Command(name = "record", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Profile a command (and every process it starts) or a running process, then write"
                + " profile.collapsed, profile.json, summary.txt and the flame graphs into the output"
                + " directory and print the summary. The samples travel through Kafka (an embedded"
                + " single-node broker unless --bootstrap-servers is given) and are read back from it.",
            "Usage: record [OPTIONS] -- COMMAND [ARGS...]   or   record [OPTIONS] --pid PID"},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:the command succeeded (or --pid ended)", "N:the command's own exit status",
            "2:bad usage", "125:profiling failed, or Kafka was unreachable or did not give every window back"
                    + " (the message says which)",
            "126:the command cannot be executed", "127:the command was not found"})
public final class RecordCommand implements Callable<Integer> {
    /** Exit status when profiling itself fails (as env/timeout use 125 for their own failure). */
    public static final int EXIT_PROFILING_FAILED = ExitStatus.RECORD_FAILED;
    /** How long Ctrl-C waits for the last window to be read back and the outputs written. */
    private static final Duration SIGNAL_WAIT = Duration.ofSeconds(60);

    @Spec
    CommandSpec spec;

    private volatile KafkaRecording.ReadBack lastReadBack;


    @Option(names = "--frequency", paramLabel = "HZ", defaultValue = "999",
            description = "Samples per second per thread (default: ${DEFAULT-VALUE}).")
    int frequencyHz;

    @Option(names = "--profile", paramLabel = "TYPE", defaultValue = "cpu", converter = ProfileKindConverter.class,
            description = "What to profile: cpu (on-CPU time), wall (on- and off-CPU time), offcpu (where threads"
                    + " block, weighted by the time blocked), page-faults (every fault) or alloc (bytes allocated by"
                    + " malloc, calloc and realloc, sampled every --alloc-interval bytes) (default: ${DEFAULT-VALUE}).")
    ProfileKind profile;

    @Option(names = "--period", paramLabel = "N", defaultValue = "1",
            description = "page-faults: one sample every N faults (default: ${DEFAULT-VALUE}, every fault; a"
                    + " target faulting faster than the rings drain loses samples, counted as lost: raise N).")
    long period;

    @Option(names = "--alloc-interval", paramLabel = "BYTES", defaultValue = "524288",
            description = "alloc: about one sample every BYTES bytes allocated, at random (Poisson) so the"
                    + " estimate is unbiased (default: ${DEFAULT-VALUE}, 512 KiB).")
    long allocIntervalBytes;

    @Option(names = "--duration", paramLabel = "SECONDS",
            description = "Stop profiling after this many seconds (default: until the target exits).")
    Double durationSeconds;

    @Option(names = "--output", paramLabel = "DIR", defaultValue = "stackstream-out",
            description = "Directory for the outputs (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--service", paramLabel = "NAME",
            description = "Service label of the profile (default: the command's name, or pid-PID).")
    String service;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT",
            description = "Kafka to record through (checked before the command starts). Default: a"
                    + " single-node KRaft broker started inside this process for the run.")
    String bootstrapServers;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE",
            description = "A Kafka client property (TLS, SASL, ...), repeatable; wins over --kafka-config and"
                    + " STACKSTREAM_KAFKA_<PROPERTY> (keep secrets in those: ps shows flags).")
    Map<String, String> kafkaProperties;

    @Option(names = "--kafka-config", paramLabel = "FILE", defaultValue = "${env:STACKSTREAM_KAFKA_CONFIG}",
            description = "Kafka client properties file (TLS, SASL secrets); wins over STACKSTREAM_KAFKA_<PROPERTY>"
                    + " variables (STACKSTREAM_KAFKA_SASL_JAAS_CONFIG is sasl.jaas.config).")
    Path kafkaConfig;

    @Option(names = "--kafka-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "Bound for reaching Kafka at the start and for reading the profile back at the end"
                    + " (default: ${DEFAULT-VALUE}).")
    double kafkaTimeoutSeconds;

    @Option(names = "--per-thread", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Count stacks per thread, for the per-thread split of the summary (default: on).")
    boolean perThread;

    @Mixin
    UnwindOptions unwinding = new UnwindOptions();

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    /** Exactly one of --pid and the command. */
    static final class Target {
        @Option(names = "--pid", paramLabel = "PID", description = "Profile this running process.")
        Integer pid;

        @Parameters(paramLabel = "COMMAND", arity = "1..*",
                description = "The command to run and profile, after --.")
        List<String> command;
    }

    /** Runs record on its own (the launcher normally reaches it as {@code stackstream record}). */
    public static void main(String[] args) {
        System.exit(ExitStatus.install(new picocli.CommandLine(new RecordCommand())
                .setCommandName("stackstream record")).execute(args));
    }

    @Override
    public Integer call() {
        quietKafkaLogs();
        RecordPipeline pipeline = new RecordPipeline(config());
        PrintWriter err = spec.commandLine().getErr();
        try (StopOnSignal signal = StopOnSignal.install("stackstream-record-shutdown", pipeline::stop, SIGNAL_WAIT)) {
            RecordPipeline.Result result = pipeline.run(notice -> err.println("stackstream record: " + notice));
            lastReadBack = result.readBack();
            report(result);
            if (!result.readBack().exact()) {
                throw new CommandFailure(EXIT_PROFILING_FAILED, "the profile is incomplete: " + result.readBack().problem());
            }
            return result.commandStatus();
        }
    }

    /** The options as the pipeline's configuration; usage errors throw. */
    private RecordPipeline.Config config() {
        if (frequencyHz < 1 || frequencyHz > 100_000) {
            throw new ParameterException(spec.commandLine(), "--frequency must be 1..100000 Hz, got " + frequencyHz);
        }
        Duration duration = null;
        if (durationSeconds != null) {
            if (!(durationSeconds > 0)) {
                throw new ParameterException(spec.commandLine(), "--duration must be > 0 seconds, got " + durationSeconds);
            }
            duration = Duration.ofNanos((long) (durationSeconds * 1e9));
        }
        if (period < 1) {
            throw new ParameterException(spec.commandLine(), "--period must be >= 1, got " + period);
        }
        if (allocIntervalBytes < 1) {
            throw new ParameterException(spec.commandLine(), "--alloc-interval must be >= 1 byte, got "
                    + allocIntervalBytes);
        }
        if (target.pid != null && target.pid <= 0) {
            throw new ParameterException(spec.commandLine(), "--pid must be > 0, got " + target.pid);
        }
        if (!(kafkaTimeoutSeconds > 0)) {
            throw new ParameterException(spec.commandLine(), "--kafka-timeout must be > 0 seconds, got "
                    + kafkaTimeoutSeconds);
        }
        String serviceName = service != null ? service
                : target.pid != null ? "pid-" + target.pid : Path.of(target.command.get(0)).getFileName().toString();
        SamplingOptions sampling;
        try {
            // The type last: page faults come in bursts and take a smaller stack copy and ring.
            sampling = profile.applyTo(unwinding.applyTo(SamplingOptions.builder().frequencyHz(frequencyHz)
                    .period(period).allocIntervalBytes(allocIntervalBytes).perThread(perThread)
                    .followChildren(true))).build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--stack-bytes: " + e.getMessage());
        }
        return new RecordPipeline.Config(sampling, duration, serviceName, target.pid, target.command,
                bootstrapServers, KafkaClientProperties.resolve(kafkaProperties, kafkaConfig, System.getenv()),
                Duration.ofMillis((long) (kafkaTimeoutSeconds * 1000)), output);
    }

    /** The summary on stdout; what was published, read back and written on stderr. */
    private void report(RecordPipeline.Result r) {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        out.print(r.summary());
        out.flush();
        KafkaRecording.ReadBack back = r.readBack();
        err.println("stackstream record: " + back.windowsPublished() + " window(s), " + back.samplesPublished()
                + " samples published as collector " + r.collectorId() + ", " + back.samplesRead() + " read back");
        err.println("stackstream record: wrote " + r.files().size() + " files to " + output.toAbsolutePath() + " ("
                + String.join(", ", r.files().stream().map(p -> p.getFileName().toString()).toList()) + ")");
        if (!r.kernelFrames()) {
            err.println("stackstream record: kernel frames were not captured (needs CAP_PERFMON, or"
                    + " sysctl kernel.perf_event_paranoid<=1)");
        }
        err.flush();
    }

    /** What the last run of this instance read back from Kafka (tests compare it with the files). */
    KafkaRecording.ReadBack lastReadBack() {
        return lastReadBack;
    }

    /**
     * The broker and the Kafka clients log at INFO by the hundred lines; record's terminal is for the
     * command's output and the summary. Their loggers go to WARN unless the user chose a level
     * ({@code -Dorg.slf4j.simpleLogger.log.org.apache.kafka=info}); the clients' connection warnings
     * too, because record reports an unreachable broker itself. slf4j-simple reads a logger's level
     * when the logger is created, which for these is after this call.
     */
    static void quietKafkaLogs() {
        String prefix = "org.slf4j.simpleLogger.log.";
        for (String logger : List.of("kafka", "org.apache.kafka", "state.change.logger", "org.apache.zookeeper",
                "org.testcontainers", "dev.stackstream.broker", "dev.stackstream.collector.publish",
                "dev.stackstream.collector.consume")) {
            if (System.getProperty(prefix + logger) == null) {
                System.setProperty(prefix + logger, "warn");
            }
        }
        for (String logger : List.of("org.apache.kafka.clients.NetworkClient", "org.apache.kafka.clients.ClientUtils",
                // "The metadata log appears to be empty": said on every fresh start of our broker.
                "org.apache.kafka.controller.QuorumController",
                "org.apache.kafka.clients.admin.internals.AdminMetadataManager")) {
            if (System.getProperty(prefix + logger) == null) {
                System.setProperty(prefix + logger, "error");
            }
        }
    }
}
