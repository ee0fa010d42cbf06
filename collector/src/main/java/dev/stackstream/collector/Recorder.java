package dev.stackstream.collector;

import dev.stackstream.collector.sampling.LaunchedCommand;
import dev.stackstream.collector.sampling.NativeStats;
import dev.stackstream.collector.sampling.ProfilerException;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.collector.sampling.SamplingSession;
import dev.stackstream.collector.sampling.WindowedSampler;
import dev.stackstream.profile.Profile;
import dev.stackstream.symbols.Symbolizer;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.function.Consumer;

/**
 * The sampling half of {@code record}: profiles a command and every process it starts (the
 * command is held before exec until the session is attached, as {@code perf record -- CMD} does),
 * or a running process, and hands each window to a sink. Writing outputs is the caller's business,
 * so the same recorder feeds a local merge or a Kafka publisher.
 *
 * <p>One recorder records once. {@link #stop()} (from a shutdown hook, say) ends the recording
 * cleanly: the last window still reaches the sink, and a command it started gets SIGTERM.
 */
public final class Recorder {

    /**
     * How a recording ended.
     *
     * @param reason what ended the sampling loop
     * @param exitStatus the command's exit status as a shell reports it (code or 128 + signal);
     *     empty for a --pid recording, or when the command outlived a stop request
     * @param targetPid the profiled process
     * @param stats the native counters at the end
     * @param kernelFrames whether kernel frames were captured
     */
    public record Result(WindowedSampler.StopReason reason, OptionalInt exitStatus, int targetPid,
                         NativeStats stats, boolean kernelFrames) { }

    /** How long a command that got SIGTERM from {@link #stop()} may take before record gives up waiting. */
    private static final Duration TERMINATE_GRACE = Duration.ofSeconds(5);

    private final SamplingOptions sampling;
    private final Duration window;
    private final Duration duration;
    private final Clock clock;
    private final Object lock = new Object();
    private boolean stopRequested;
    private WindowedSampler sampler;
    private LaunchedCommand command;

    /**
     * @param sampling rate, event, per-thread... (its target is replaced by the one recorded)
     * @param window time between drains
     * @param duration stop after this long; null = until the target exits or {@link #stop()}
     */
    public Recorder(SamplingOptions sampling, Duration window, Duration duration, Clock clock) {
        this.sampling = Objects.requireNonNull(sampling, "sampling");
        this.window = Objects.requireNonNull(window, "window");
        this.duration = duration;
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Starts argv, profiles it and its children until it exits (or the duration elapses, or
     * stop()), then waits for it and returns its exit status. With a duration, profiling ends at
     * the duration but the command is still waited for: its exit status is record's.
     */
    public Result recordCommand(List<String> argv, Symbolizer symbolizer, Consumer<Profile> sink)
            throws ProfilerException {
        LaunchedCommand cmd = LaunchedCommand.hold(argv);
        SamplingSession session;
        try {
            session = SamplingSession.open(sampling.toBuilder().pid(cmd.pid()).followChildren(true).build(),
                    symbolizer, clock);
        } catch (ProfilerException | RuntimeException e) {
            // The held child never ran; do not leave it behind.
            cmd.terminate(true);
            cmd.waitFor(TERMINATE_GRACE);
            throw e;
        }
        try (session) {
            synchronized (lock) {
                command = cmd;
                if (stopRequested) {
                    cmd.terminate(false); // stop() came while the session was being opened
                }
            }
            cmd.resume();
            WindowedSampler.StopReason reason = sample(session, sink);
            NativeStats stats = session.stats();
            OptionalInt status;
            if (reason == WindowedSampler.StopReason.STOPPED) {
                status = cmd.waitFor(TERMINATE_GRACE);
            } else {
                status = cmd.waitFor(null);
            }
            return new Result(reason, status, cmd.pid(), stats, stats.kernelFrames());
        }
    }

    /** Profiles a running process (and the children it starts) until it exits, the duration elapses or stop(). */
    public Result recordPid(int pid, Symbolizer symbolizer, Consumer<Profile> sink) throws ProfilerException {
        if (pid <= 0) {
            throw new IllegalArgumentException("pid must be > 0, got " + pid);
        }
        try (SamplingSession session = SamplingSession.open(sampling.toBuilder().pid(pid).build(), symbolizer,
                clock)) {
            WindowedSampler.StopReason reason = sample(session, sink);
            NativeStats stats = session.stats();
            return new Result(reason, OptionalInt.empty(), pid, stats, stats.kernelFrames());
        }
    }

    private WindowedSampler.StopReason sample(SamplingSession session, Consumer<Profile> sink) {
        WindowedSampler s = new WindowedSampler(session, window, duration, clock, sink);
        synchronized (lock) {
            sampler = s;
            if (stopRequested) {
                s.stop();
            }
        }
        return s.run();
    }

    /**
     * Ends the recording from another thread: the sampling loop delivers its last window and
     * returns, and a started command gets SIGTERM. Safe to call at any time, more than once.
     */
    public void stop() {
        synchronized (lock) {
            stopRequested = true;
            if (sampler != null) {
                sampler.stop();
            }
            if (command != null) {
                command.terminate(false);
            }
        }
    }
}
