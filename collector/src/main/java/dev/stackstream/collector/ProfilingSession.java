package dev.stackstream.collector;

import dev.stackstream.collector.sampling.NativeStats;
import dev.stackstream.collector.sampling.ProfilerException;
import dev.stackstream.collector.sampling.SamplingSession;
import dev.stackstream.collector.sampling.WindowedSampler;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.Symbolizers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A running in-process profile, from {@link Profiler#start}. A daemon thread drains the native
 * stack table once per {@link ProfilerOptions#window()} and merges the windows; {@link #stop()}
 * ends sampling and gives the merged {@link Profile}. Use it with try-with-resources:
 *
 * <pre>{@code
 * ProfilingSession s;
 * try (ProfilingSession running = Profiler.start()) {
 *     s = running;
 *     work();
 * }
 * Profile p = s.profile();
 * }</pre>
 *
 * <p>Closing frees every native resource (perf fds, ring buffers, the native reader thread and
 * the sampler thread) and, unless the options supplied a shared one, the symbolizer; sessions can
 * be started and stopped any number of times in one process.
 */
public final class ProfilingSession implements AutoCloseable {
    private static final AtomicInteger THREAD_NUMBER = new AtomicInteger();

    private final ProfilerOptions options;
    private final Symbolizer symbolizer;
    private final boolean ownsSymbolizer;
    private final SamplingSession session;
    private final WindowedSampler sampler;
    private final ProfileBuilder merged;
    private final Thread thread;
    private volatile Throwable failure;
    private Profile profile;
    private NativeStats finalStats;

    private ProfilingSession(ProfilerOptions options, Symbolizer symbolizer, boolean ownsSymbolizer,
                             SamplingSession session) {
        this.options = options;
        this.symbolizer = symbolizer;
        this.ownsSymbolizer = ownsSymbolizer;
        this.session = session;
        this.merged = Profile.builder(session.profileType()).labels(options.labels());
        this.sampler = new WindowedSampler(session, options.window(), null, options.clock(), this::mergeWindow);
        this.thread = new Thread(this::runSampler, "stackstream-profiler-" + THREAD_NUMBER.incrementAndGet());
        this.thread.setDaemon(true);
    }

    static ProfilingSession start(ProfilerOptions options) throws ProfilerException {
        Symbolizer shared = options.symbolizer();
        Symbolizer symbolizer = shared != null ? shared : Symbolizers.create(options.symbolizerOptions());
        SamplingSession session;
        try {
            session = SamplingSession.open(options.sampling(), symbolizer, options.clock());
        } catch (ProfilerException | RuntimeException e) {
            if (shared == null) {
                symbolizer.close();
            }
            throw e;
        }
        ProfilingSession s = new ProfilingSession(options, symbolizer, shared == null, session);
        s.thread.start();
        return s;
    }

    private void runSampler() {
        try {
            sampler.run();
        } catch (Throwable t) {
            failure = t;
        }
    }

    private void mergeWindow(Profile window) {
        synchronized (merged) {
            merged.merge(window);
        }
    }

    /** True until {@link #stop()} (or the target exited, for a session on another process). */
    public boolean isRunning() {
        return thread.isAlive();
    }

    /**
     * Stops sampling, releases the native session and returns the merged profile. Idempotent: later
     * calls return the same profile.
     *
     * @throws IllegalStateException when sampling failed while the session ran (cause attached)
     */
    public synchronized Profile stop() {
        if (profile != null) {
            return profile;
        }
        sampler.stop();
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true; // finish releasing resources first, then restore the flag
            }
        }
        try {
            finalStats = session.isClosed() ? null : session.stats();
        } finally {
            session.close();
            if (ownsSymbolizer) {
                symbolizer.close();
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        synchronized (merged) {
            profile = merged.build();
        }
        if (failure != null) {
            throw new IllegalStateException("sampling failed: " + failure, failure);
        }
        return profile;
    }

    /** The merged profile; stops the session first if it is still running. */
    public Profile profile() {
        return stop();
    }

    /** Cumulative native counters at stop (null before stop). */
    public synchronized NativeStats finalStats() {
        return finalStats;
    }

    /** The text report of the profile (stops the session if running). */
    public String summary() {
        return ProfileReports.summary(profile());
    }

    /** Writes every output format and summary.txt into dir (stops the session if running). */
    public List<Path> writeTo(Path dir) throws IOException {
        return ProfileReports.writeAll(profile(), dir, RenderOptions.defaults());
    }

    /** Same as {@link #stop()}, discarding the result. */
    @Override
    public void close() {
        stop();
    }

    public ProfilerOptions options() {
        return options;
    }
}
