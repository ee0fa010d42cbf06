package dev.stackstream.symbols.jit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.IntConsumer;

/**
 * Asks JVM targets to (re)write their perf map: the diagnostic command {@code Compiler.perfmap}
 * (JDK 17+) sent through HotSpot's attach protocol by the collector's own code
 * ({@link HotSpotAttach}) every interval, on one background daemon thread so sampling never waits
 * for it. Each request is bounded by the timeout and its reply by {@code maxReply} bytes. No
 * program is run: nothing the target chose (a {@code jcmd} next to its binary) and nothing that
 * would inherit the collector's environment.
 */
public final class JvmPerfMapRequester implements AutoCloseable {
    private static final Path PROC = Path.of("/proc");

    private final Duration interval;
    private final Duration timeout;
    private final int maxReply;
    private final BiConsumer<String, String> warn;
    private final IntConsumer written;
    private final ScheduledExecutorService executor;
    private final Map<Integer, ScheduledFuture<?>> targets = new ConcurrentHashMap<>();
    private final Map<Integer, Long> lastRequestNanos = new ConcurrentHashMap<>();
    private final AtomicLong runs = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();

    /**
     * @param warn (cause, message) for failed runs
     * @param written called with the pid after a run that succeeded (its map changed)
     */
    public JvmPerfMapRequester(Duration interval, Duration timeout, int maxReply, BiConsumer<String, String> warn,
                               IntConsumer written) {
        this.interval = interval;
        this.timeout = timeout;
        this.maxReply = maxReply;
        this.warn = warn;
        this.written = written;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "stackstream-jvm-attach");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts asking pid periodically (first request now); no-op when already registered. */
    public void register(int pid) {
        targets.computeIfAbsent(pid, p -> executor.scheduleWithFixedDelay(() -> request(p), 0,
                Math.max(1, interval.toMillis()), TimeUnit.MILLISECONDS));
    }

    /**
     * Asks pid again soon, outside its schedule: JIT code was sampled that the current map does not
     * list (compiled after the last snapshot). At most one extra request per {@code minGap}.
     */
    public void requestSoon(int pid, Duration minGap) {
        if (!targets.containsKey(pid)) {
            return;
        }
        long now = System.nanoTime();
        Long last = lastRequestNanos.get(pid);
        if (last != null && now - last < minGap.toNanos()) {
            return;
        }
        lastRequestNanos.put(pid, now);
        try {
            executor.execute(() -> request(pid));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed: nothing more to ask
        }
    }

    /** Stops asking pid (it exited). */
    public void unregister(int pid) {
        lastRequestNanos.remove(pid);
        ScheduledFuture<?> f = targets.remove(pid);
        if (f != null) {
            f.cancel(false);
        }
    }

    public boolean registered(int pid) {
        return targets.containsKey(pid);
    }

    /** Attach requests started / failed so far. */
    public long runs() {
        return runs.get();
    }

    public long failures() {
        return failures.get();
    }

    /** Runs one request now on the calling thread; true when the JVM wrote its map. */
    public boolean request(int pid) {
        if (!Files.exists(PROC.resolve(Integer.toString(pid)))) {
            unregister(pid);
            return false;
        }
        runs.incrementAndGet();
        lastRequestNanos.put(pid, System.nanoTime());
        try {
            HotSpotAttach.Reply r = HotSpotAttach.jcmd(PROC, pid, "Compiler.perfmap", timeout, maxReply);
            String text = r.output().trim();
            if (r.code() != 0 || text.contains("Exception") || text.contains("Unknown diagnostic command")) {
                failures.incrementAndGet();
                warn.accept("jcmd-failed", "JVM " + pid + " answered Compiler.perfmap with " + r.code() + ": "
                        + (text.length() > 300 ? text.substring(0, 300) + "..." : text)
                        + " (Compiler.perfmap needs JDK 17+; JIT frames stay unresolved)");
                return false;
            }
            written.accept(pid);
            return true;
        } catch (HotSpotAttach.NotAttachableException e) {
            failures.incrementAndGet();
            warn.accept("jvm-attach-skipped", e.getMessage());
            return false;
        } catch (IOException e) {
            failures.incrementAndGet();
            warn.accept("jcmd-failed", "attach to JVM " + pid + " for Compiler.perfmap failed: " + e.getMessage());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** True when pid sees the same file system as we do (same mount namespace). */
    public static boolean sameMountNamespace(int pid) throws IOException {
        return Files.readSymbolicLink(PROC.resolve("self/ns/mnt"))
                .equals(Files.readSymbolicLink(PROC.resolve(pid + "/ns/mnt")));
    }

    @Override
    public void close() {
        executor.shutdownNow();
        targets.clear();
    }
}
