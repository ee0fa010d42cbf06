package dev.stackstream.symbols.jit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * Asks JVM targets to (re)write their perf map: {@code jcmd PID Compiler.perfmap} (JDK 17+) every
 * interval, on one background daemon thread so sampling never waits for it. Each run is killed
 * after the timeout.
 *
 * <p>Which jcmd: the one next to the target's own {@code java} (same JDK, same attach protocol)
 * when the target shares our mount namespace, else ours ({@code java.home/bin/jcmd}), else
 * {@code jcmd} on PATH. HotSpot's attach mechanism only accepts a client with the target's
 * effective uid/gid, so when we run as root and the target does not, jcmd is started through
 * {@code setpriv --reuid=UID --regid=GID --clear-groups} (util-linux).
 */
public final class JvmPerfMapRequester implements AutoCloseable {
    private static final Path PROC = Path.of("/proc");

    private final Duration interval;
    private final Duration timeout;
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
    public JvmPerfMapRequester(Duration interval, Duration timeout, BiConsumer<String, String> warn,
                               IntConsumer written) {
        this.interval = interval;
        this.timeout = timeout;
        this.warn = warn;
        this.written = written;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "stackstream-jcmd-perfmap");
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

    /** jcmd runs started / failed so far. */
    public long runs() {
        return runs.get();
    }

    public long failures() {
        return failures.get();
    }

    /** Runs one request now on the calling thread; true when jcmd succeeded. */
    public boolean request(int pid) {
        if (!Files.exists(PROC.resolve(Integer.toString(pid)))) {
            unregister(pid);
            return false;
        }
        runs.incrementAndGet();
        lastRequestNanos.put(pid, System.nanoTime());
        List<String> cmd = command(pid);
        Path out = null;
        try {
            out = Files.createTempFile("stackstream-jcmd", ".out");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                failures.incrementAndGet();
                warn.accept("jcmd-timeout", "jcmd " + pid + " Compiler.perfmap did not finish in " + timeout
                        + "; killed (is the JVM responsive? is -XX:+DisableAttachMechanism set?)");
                return false;
            }
            String text = Files.readString(out, StandardCharsets.UTF_8).trim();
            if (p.exitValue() != 0 || text.contains("Exception") || text.contains("Unknown diagnostic command")) {
                failures.incrementAndGet();
                warn.accept("jcmd-failed", String.join(" ", cmd) + " exited " + p.exitValue() + ": "
                        + (text.length() > 300 ? text.substring(0, 300) + "..." : text)
                        + " (Compiler.perfmap needs JDK 17+; JIT frames stay unresolved)");
                return false;
            }
            written.accept(pid);
            return true;
        } catch (IOException e) {
            failures.incrementAndGet();
            warn.accept("jcmd-failed", "cannot run " + String.join(" ", cmd) + ": " + e.getMessage());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }

    /** The command line that asks pid for its perf map. */
    public List<String> command(int pid) {
        List<String> cmd = new ArrayList<>();
        int[] ids = ids(pid);
        if (ids != null && isRoot() && ids[0] != 0 && Files.isExecutable(Path.of("/usr/bin/setpriv"))) {
            cmd.addAll(List.of("/usr/bin/setpriv", "--reuid=" + ids[0], "--regid=" + ids[1], "--clear-groups"));
        }
        cmd.add(jcmdFor(pid));
        cmd.add(Integer.toString(pid));
        cmd.add("Compiler.perfmap");
        return cmd;
    }

    static String jcmdFor(int pid) {
        try {
            if (sameMountNamespace(pid)) {
                Path exe = Files.readSymbolicLink(PROC.resolve(Integer.toString(pid)).resolve("exe"));
                Path jcmd = exe.resolveSibling("jcmd");
                if (Files.isExecutable(jcmd)) {
                    return jcmd.toString();
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through to our own JDK's jcmd
        }
        Path own = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        return Files.isExecutable(own) ? own.toString() : "jcmd";
    }

    /** True when pid sees the same file system as we do (same mount namespace). */
    public static boolean sameMountNamespace(int pid) throws IOException {
        return Files.readSymbolicLink(PROC.resolve("self/ns/mnt"))
                .equals(Files.readSymbolicLink(PROC.resolve(pid + "/ns/mnt")));
    }

    /** Effective uid and gid of pid, or null. */
    static int[] ids(int pid) {
        try {
            int uid = -1;
            int gid = -1;
            for (String line : Files.readAllLines(PROC.resolve(pid + "/status"))) {
                if (line.startsWith("Uid:")) {
                    uid = Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
                } else if (line.startsWith("Gid:")) {
                    gid = Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
                }
            }
            return uid < 0 || gid < 0 ? null : new int[] {uid, gid};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static boolean isRoot() {
        int[] own = ids((int) ProcessHandle.current().pid());
        return own != null && own[0] == 0;
    }

    @Override
    public void close() {
        executor.shutdownNow();
        targets.clear();
    }
}
