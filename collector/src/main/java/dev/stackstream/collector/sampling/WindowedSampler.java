package dev.stackstream.collector.sampling;

import dev.stackstream.profile.Profile;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The sampling loop: drains a {@link SamplingSession} once per window and hands every window to a
 * sink (merged into one profile by {@code record} and the in-process API, published to Kafka by
 * the sidecar). {@link #run()} returns when the target exits, when the optional duration has
 * elapsed, or when {@link #stop()} is called from another thread (a shutdown hook, say).
 *
 * <p>Whatever ends the loop, the session is stopped and drained once more, so the last partial
 * window reaches the sink too: nothing sampled is lost. The session itself is not closed; its
 * owner closes it.
 *
 * <p>Window boundaries are taken from the injected {@link Clock}; the waiting between them is
 * real time. Target liveness is checked every {@link #livenessPoll()} (50 ms) so a command that
 * exits is noticed quickly, not a full window later; a long-running sampler (the sidecar) may
 * check less often, since each check is a wake-up and two reads of /proc/PID/stat.
 */
public final class WindowedSampler {

    /** Why {@link #run()} returned. */
    public enum StopReason {
        /** The target process (or every task of the cgroup) exited. */
        TARGET_EXITED,
        /** The configured duration elapsed. */
        DURATION_ELAPSED,
        /** {@link #stop()} was called. */
        STOPPED
    }

    private static final Duration LIVENESS_POLL = Duration.ofMillis(50);

    private final SamplingSession session;
    private final Duration window;
    private final Clock clock;
    private final Consumer<Profile> sink;
    private final Duration duration;
    private final boolean everySampleType;
    private final Duration liveness;
    private final Object lock = new Object();
    private boolean stopRequested;
    private volatile long windows;

    /**
     * @param window time between drains (e.g. 1 s for record, 10 s for the sidecar)
     * @param duration stop after this long, or null to run until the target exits or stop()
     * @param sink receives each window's profile, on the thread calling {@link #run()}
     */
    public WindowedSampler(SamplingSession session, Duration window, Duration duration, Clock clock,
                           Consumer<Profile> sink) {
        this(session, window, duration, clock, sink, false);
    }

    /**
     * @param everySampleType hand the sink every sample type of a window (alloc: bytes, then allocations;
     *     {@link SamplingSession#drainWindows()}), not only the first
     */
    public WindowedSampler(SamplingSession session, Duration window, Duration duration, Clock clock,
                           Consumer<Profile> sink, boolean everySampleType) {
        this(session, window, duration, clock, sink, everySampleType, LIVENESS_POLL);
    }

    /**
     * @param liveness how often the target's liveness is checked between drains (> 0): how late an
     *     exited target is noticed, and how many wake-ups the loop costs when nothing happens
     */
    public WindowedSampler(SamplingSession session, Duration window, Duration duration, Clock clock,
                           Consumer<Profile> sink, boolean everySampleType, Duration liveness) {
        this.everySampleType = everySampleType;
        this.liveness = Objects.requireNonNull(liveness, "liveness");
        if (liveness.isNegative() || liveness.isZero()) {
            throw new IllegalArgumentException("liveness poll must be > 0, got " + liveness);
        }
        this.session = Objects.requireNonNull(session, "session");
        this.window = Objects.requireNonNull(window, "window");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.sink = Objects.requireNonNull(sink, "sink");
        this.duration = duration;
        if (window.isNegative() || window.isZero()) {
            throw new IllegalArgumentException("window must be > 0, got " + window);
        }
        if (duration != null && (duration.isNegative() || duration.isZero())) {
            throw new IllegalArgumentException("duration must be > 0, got " + duration);
        }
    }

    static Duration livenessPoll() {
        return LIVENESS_POLL;
    }

    /** Samples until the target exits, the duration elapses or {@link #stop()}; see the class doc. */
    public StopReason run() {
        Instant begin = clock.instant();
        Instant deadline = duration == null ? null : begin.plus(duration);
        Instant nextDrain = begin.plus(window);
        StopReason reason;
        try {
            while (true) {
                if (isStopRequested()) {
                    reason = StopReason.STOPPED;
                    break;
                }
                Instant now = clock.instant();
                if (deadline != null && !now.isBefore(deadline)) {
                    reason = StopReason.DURATION_ELAPSED;
                    break;
                }
                if (!session.targetAlive()) {
                    reason = StopReason.TARGET_EXITED;
                    break;
                }
                if (!now.isBefore(nextDrain)) {
                    drain();
                    // Keep a fixed cadence; after a long stall skip ahead instead of bursting.
                    nextDrain = nextDrain.plus(window);
                    if (!nextDrain.isAfter(now)) {
                        nextDrain = now.plus(window);
                    }
                    continue;
                }
                Instant wake = earliest(nextDrain, deadline, now.plus(liveness));
                pause(Duration.between(now, wake));
            }
        } finally {
            session.stop();
        }
        drain();
        return reason;
    }

    private void drain() {
        if (everySampleType) {
            session.drainWindows().forEach(this::deliver);
        } else {
            deliver(session.drainWindow());
        }
    }

    private void deliver(Profile p) {
        windows++;
        sink.accept(p);
    }

    /** Windows handed to the sink so far. */
    public long windows() {
        return windows;
    }

    /** Asks {@link #run()} to finish: it stops the session, delivers the last window and returns. */
    public void stop() {
        synchronized (lock) {
            stopRequested = true;
            lock.notifyAll();
        }
    }

    private boolean isStopRequested() {
        synchronized (lock) {
            return stopRequested;
        }
    }

    private void pause(Duration d) {
        long millis = Math.max(1, d.toMillis());
        synchronized (lock) {
            if (stopRequested) {
                return;
            }
            try {
                lock.wait(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stopRequested = true;
            }
        }
    }

    private static Instant earliest(Instant a, Instant b, Instant c) {
        Instant m = a.isBefore(c) ? a : c;
        return b != null && b.isBefore(m) ? b : m;
    }
}
