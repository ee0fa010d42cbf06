package dev.stackstream.cli;

import dev.stackstream.collector.ProfileReports;
import dev.stackstream.collector.Recorder;
import dev.stackstream.collector.sampling.ProfilerException;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
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
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
 * <p>Exit status: the command's own exit status when profiling worked (0 for --pid);
 * {@value #EXIT_PROFILING_FAILED} when profiling itself failed (the message says why and how to fix
 * it); 126/127 when the command cannot be executed / is not found, as shells do; 2 for bad usage.
 * Ctrl-C or SIGTERM stop the recording cleanly: the outputs are still written.
 */
@Command(name = "record", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Profile a command (and every process it starts) or a running process, then write"
                + " profile.collapsed, profile.json, summary.txt and the flame graphs into the output"
                + " directory and print the summary.",
            "Usage: record [OPTIONS] -- COMMAND [ARGS...]   or   record [OPTIONS] --pid PID"},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:the command succeeded (or --pid ended)", "N:the command's own exit status",
            "2:bad usage", "125:profiling failed (the message names the cause and its fix)",
            "126:the command cannot be executed", "127:the command was not found"})
public final class RecordCommand implements Callable<Integer> {
    /** Exit status when profiling itself fails (as env/timeout use 125 for their own failure). */
    public static final int EXIT_PROFILING_FAILED = 125;
    private static final int ENOENT = 2;
    private static final int EACCES = 13;
    private static final Duration HOOK_WAIT = Duration.ofSeconds(60);

    @Spec
    CommandSpec spec;

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

    @Option(names = "--per-thread", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Count stacks per thread, for the per-thread split of the summary (default: on).")
    boolean perThread;

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

        SamplingOptions sampling = SamplingOptions.builder().frequencyHz(frequencyHz).perThread(perThread)
                .followChildren(true).build();
        Recorder recorder = new Recorder(sampling, Duration.ofSeconds(1), duration, Clock.systemUTC());
        ProfileBuilder merged = Profile.builder(dev.stackstream.profile.ProfileType.cpu(frequencyHz))
                .label("service", serviceName);
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            recorder.stop();
            try {
                // Let the main thread write the outputs before the JVM goes away.
                finished.await(HOOK_WAIT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "stackstream-record-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (Symbolizer symbolizer = Symbolizers.create(SymbolizerOptions.defaults())) {
            Recorder.Result result;
            try {
                result = target.pid != null
                        ? recorder.recordPid(target.pid, symbolizer, merged::merge)
                        : recorder.recordCommand(target.command, symbolizer, merged::merge);
            } catch (ProfilerException e) {
                err.println("stackstream record: " + e.getMessage());
                return exitStatusFor(e);
            }
            Profile profile = merged.build();
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
            err.println("stackstream record: wrote " + files.size() + " files to " + output.toAbsolutePath() + " ("
                    + String.join(", ", files.stream().map(p -> p.getFileName().toString()).toList()) + ")");
            if (!result.kernelFrames()) {
                err.println("stackstream record: kernel frames were not captured (needs CAP_PERFMON, or"
                        + " sysctl kernel.perf_event_paranoid<=1)");
            }
            return result.exitStatus().orElse(0);
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it returns once finished is counted down
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
