package dev.stackstream.collector;

import dev.stackstream.collector.sampling.ProfilerException;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * The in-process profiling API in the three forms profilers usually offer, start/stop, a scope
 * (context manager) and a wrapped call (decorator):
 *
 * <pre>{@code
 * // start / stop
 * ProfilingSession s = Profiler.start();
 * work();
 * Profile p = s.stop();
 *
 * // try-with-resources
 * try (ProfilingSession s = Profiler.start(options)) { work(); }
 *
 * // a wrapped call
 * Profiled<Result> r = Profiler.profile(() -> compute());
 * System.out.println(r.summary());
 * }</pre>
 *
 * <p>By default this JVM itself is profiled (every thread, native and JIT frames; start the JVM
 * with {@code -XX:+PreserveFramePointer} for complete Java stacks). Needs the rights perf needs:
 * root, CAP_PERFMON, or {@code kernel.perf_event_paranoid} low enough (the exception says which).
 */
public final class Profiler {
    private Profiler() {
    }

    /** Starts profiling this JVM with {@link ProfilerOptions#defaults()}. */
    public static ProfilingSession start() throws ProfilerException {
        return start(ProfilerOptions.defaults());
    }

    /** Starts a profiling session; stop or close it to get the profile. */
    public static ProfilingSession start(ProfilerOptions options) throws ProfilerException {
        return ProfilingSession.start(Objects.requireNonNull(options, "options"));
    }

    /** Runs call under the profiler (defaults) and returns its value with the profile. */
    public static <T> Profiled<T> profile(Callable<T> call) throws Exception {
        return profile(ProfilerOptions.defaults(), call);
    }

    /**
     * Runs call under the profiler. If call throws, the session is stopped and released and the
     * exception propagates unchanged.
     */
    public static <T> Profiled<T> profile(ProfilerOptions options, Callable<T> call) throws Exception {
        Objects.requireNonNull(call, "call");
        ProfilingSession s = start(options);
        T value;
        try {
            value = call.call();
        } catch (Exception | Error e) {
            closeQuietly(s, e);
            throw e;
        }
        return new Profiled<>(value, s.stop());
    }

    /** Runs work under the profiler (defaults). */
    public static Profiled<Void> profile(Runnable work) throws ProfilerException {
        return profile(ProfilerOptions.defaults(), work);
    }

    /** Runs work under the profiler; a RuntimeException from work propagates after the session is released. */
    public static Profiled<Void> profile(ProfilerOptions options, Runnable work) throws ProfilerException {
        Objects.requireNonNull(work, "work");
        ProfilingSession s = start(options);
        try {
            work.run();
        } catch (RuntimeException | Error e) {
            closeQuietly(s, e);
            throw e;
        }
        return new Profiled<>(null, s.stop());
    }

    private static void closeQuietly(ProfilingSession s, Throwable primary) {
        try {
            s.close();
        } catch (RuntimeException suppressed) {
            primary.addSuppressed(suppressed);
        }
    }
}
