package dev.stackstream.cli;

import dev.stackstream.collector.ProfileReports;
import dev.stackstream.collector.Recorder;
import dev.stackstream.collector.sampling.ProfilerException;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code stackstream record}: an on-demand profile, like {@code perf record} and {@code perf
 * report} in one. Profiles a command and every process it starts, or a running process, then
 * writes every output format and the summary into the output directory and prints the summary.
 *
 * <p>The profile goes through the whole pipeline: the sampler's 1 s windows are published to Kafka
 * (a single-node KRaft broker started in this JVM for the run, or {@code --bootstrap-servers}) under
 * a collector id of their own, read back by a consumer, merged, and that profile — the one that went
 * through the broker — is what the files show. The embedded broker starts while the command already
 * runs (the command itself starts only once the sampler is attached); an external broker is checked
 * before the command starts, so a wrong address fails at once.
 *
 * <p>Exit status: the command's own exit status when profiling worked (0 for --pid);
 * {@value #EXIT_PROFILING_FAILED} when profiling itself failed (the message says why and how to fix
 * it); 126/127 when the command cannot be executed / is not found, as shells do; 2 for bad usage.
 * Ctrl-C or SIGTERM stop the recording cleanly: the outputs are still written.
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
    public static final int EXIT_PROFILING_FAILED = 125;
    private static final int ENOENT = 2;
    private static final int EACCES = 13;
    private static final Duration HOOK_WAIT = Duration.ofSeconds(60);
    /** Sampler window: each one becomes one record on the samples topic. */
    private static final Duration WINDOW = Duration.ofSeconds(1);
    /** Least time the embedded broker is given to start (it normally takes 2-5 s). */
    private static final Duration EMBEDDED_START = Duration.ofMinutes(2);

    @Spec
    CommandSpec spec;

    private volatile KafkaRecording.ReadBack lastReadBack;

    @Option(names = "--frequency", paramLabel = "HZ", defaultValue = "999",
            description = "Samples per second per thread (default: ${DEFAULT-VALUE}).")
    int frequencyHz;

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
            description = "A Kafka client property (TLS, SASL, ...), repeatable.")
    Map<String, String> kafkaProperties;

    @Option(names = "--kafka-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "Bound for reaching Kafka at the start and for reading the profile back at the end"
                    + " (default: ${DEFAULT-VALUE}).")
    double kafkaTimeoutSeconds;

    @Option(names = "--per-thread", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Count stacks per thread, for the per-thread split of the summary (default: on).")
    boolean perThread;

    @Option(names = "--unwind", paramLabel = "auto|fp|cfi", defaultValue = "auto",
            converter = UnwindConverter.class,
            description = "How user stacks are unwound: auto = CFI (.eh_frame) where the module has it, the frame"
                    + " pointer elsewhere; fp = frame pointers only; cfi = CFI only (default: ${DEFAULT-VALUE}).")
    SamplingOptions.Unwind unwind;

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
        System.exit(new picocli.CommandLine(new RecordCommand()).execute(args));
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
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
        if (target.pid != null && target.pid <= 0) {
            throw new ParameterException(spec.commandLine(), "--pid must be > 0, got " + target.pid);
        }
        String serviceName = service != null ? service
                : target.pid != null ? "pid-" + target.pid : Path.of(target.command.get(0)).getFileName().toString();

        Map<String, String> clientProperties = kafkaProperties == null ? Map.of() : kafkaProperties;
        if (!(kafkaTimeoutSeconds > 0)) {
            throw new ParameterException(spec.commandLine(), "--kafka-timeout must be > 0 seconds, got "
                    + kafkaTimeoutSeconds);
        }
        Duration kafkaWait = Duration.ofMillis((long) (kafkaTimeoutSeconds * 1000));
        quietKafkaLogs();

        // The broker first: a wrong --bootstrap-servers must fail before the command runs, and an
        // embedded broker's start (the longest step) begins as early as possible.
        RecordBroker embedded = bootstrapServers == null ? RecordBroker.embedded() : null; // starts in the background
        KafkaRecording kafka;
        try {
            kafka = new KafkaRecording(serviceName, Map.of(), clientProperties, Clock.systemUTC(),
                    bootstrapServers == null);
        } catch (KafkaException e) {
            err.println("stackstream record: invalid Kafka client property (--kafka-property): " + e.getMessage());
            if (embedded != null) {
                embedded.close();
            }
            return EXIT_PROFILING_FAILED;
        }
        RecordBroker broker;
        if (embedded != null) {
            broker = embedded;
        } else {
            try {
                broker = RecordBroker.external(bootstrapServers, clientProperties, kafkaWait);
            } catch (RecordBroker.UnavailableException e) {
                err.println("stackstream record: " + e.getMessage());
                return EXIT_PROFILING_FAILED;
            }
        }
        broker.whenReady(kafka::connect);
        // Said at once, not after a long command: the command is not killed (its work matters more),
        // but record will end with status 125 and no profile.
        broker.whenFailed(e -> err.println("stackstream record: the embedded Kafka broker could not start ("
                + e.getMessage() + "); the command keeps running, but no profile can be written"));

        SamplingOptions sampling = SamplingOptions.builder().frequencyHz(frequencyHz).perThread(perThread)
                .followChildren(true).unwind(unwind).build();
        Recorder recorder = new Recorder(sampling, WINDOW, duration, Clock.systemUTC());
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            recorder.stop();
            try {
                // Let the main thread read the profile back and write the outputs before the JVM goes away.
                finished.await(HOOK_WAIT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "stackstream-record-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (broker; kafka; Symbolizer symbolizer = Symbolizers.create(SymbolizerOptions.defaults())) {
            Recorder.Result result;
            try {
                result = target.pid != null
                        ? recorder.recordPid(target.pid, symbolizer, kafka)
                        : recorder.recordCommand(target.command, symbolizer, kafka);
            } catch (ProfilerException e) {
                err.println("stackstream record: " + e.getMessage());
                return exitStatusFor(e);
            }
            int status = result.exitStatus().orElse(0);
            try {
                // connect() is idempotent: whenReady may still be running it on the broker's start thread.
                Duration wait = broker.isEmbedded() ? max(kafkaWait, EMBEDDED_START) : kafkaWait;
                kafka.connect(broker.bootstrapServers(wait));
            } catch (RecordBroker.UnavailableException e) {
                err.println("stackstream record: " + e.getMessage() + "; nothing was written");
                return EXIT_PROFILING_FAILED;
            }
            err.println("stackstream record: " + broker.describe());
            KafkaRecording.ReadBack back;
            try {
                back = kafka.finish(kafkaWait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                err.println("stackstream record: interrupted while reading the profile back from Kafka");
                return EXIT_PROFILING_FAILED;
            }
            lastReadBack = back;
            if (back.profile() == null) {
                err.println("stackstream record: " + back.problem() + "; nothing was written");
                return EXIT_PROFILING_FAILED;
            }
            Profile profile = back.profile();
            String what = target.pid != null ? "pid " + target.pid : String.join(" ", target.command);
            RenderOptions render = RenderOptions.defaults().withTitle("stackstream record: " + what)
                    .withSubtitle(frequencyHz + " Hz, " + profile.totalCount() + " samples"
                            + (result.kernelFrames() ? ", kernel frames" : ", user frames only"));
            List<Path> files;
            try {
                files = ProfileReports.writeAll(profile, output, render);
            } catch (IOException | RuntimeException e) {
                err.println("stackstream record: cannot write the outputs into " + output.toAbsolutePath() + ": " + e);
                return EXIT_PROFILING_FAILED;
            }
            out.print(ProfileReports.summary(profile));
            out.flush();
            err.println("stackstream record: " + back.windowsPublished() + " window(s), " + back.samplesPublished()
                    + " samples published as collector " + kafka.collectorId() + ", " + back.samplesRead()
                    + " read back");
            err.println("stackstream record: wrote " + files.size() + " files to " + output.toAbsolutePath() + " ("
                    + String.join(", ", files.stream().map(p -> p.getFileName().toString()).toList()) + ")");
            if (!result.kernelFrames()) {
                err.println("stackstream record: kernel frames were not captured (needs CAP_PERFMON, or"
                        + " sysctl kernel.perf_event_paranoid<=1)");
            }
            if (!back.exact()) {
                err.println("stackstream record: the profile is incomplete: " + back.problem());
                return EXIT_PROFILING_FAILED;
            }
            return status;
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it returns once finished is counted down
            }
        }
    }

    /** What the last run of this instance read back from Kafka (tests compare it with the files). */
    KafkaRecording.ReadBack lastReadBack() {
        return lastReadBack;
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
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

    private static int exitStatusFor(ProfilerException e) {
        if (!e.commandNotStarted()) {
            return EXIT_PROFILING_FAILED;
        }
        return switch (-e.errorCode()) {
            case ENOENT -> 127;
            case EACCES -> 126;
            default -> EXIT_PROFILING_FAILED;
        };
    }
}
