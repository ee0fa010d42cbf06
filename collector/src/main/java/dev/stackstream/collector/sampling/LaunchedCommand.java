package dev.stackstream.collector.sampling;

import dev.stackstream.collector.nativeapi.NativeLoader;
import dev.stackstream.collector.nativeapi.StackstreamLibrary;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A command started by the native core ({@code ss_spawn}) and held before its {@code exec} until
 * {@link #resume()}, so a session can be attached before it runs a single instruction — the way
 * {@code perf record -- CMD} does it. stdin, stdout and stderr are inherited from this JVM.
 *
 * <p>The command is a child of this JVM; {@link #waitFor(Duration)} reaps it and gives its exit
 * status as a shell reports it (the exit code, or 128 + signal number).
 */
public final class LaunchedCommand {
    private static final int EAGAIN = 11;
    private static final int ERR_LEN = 512;

    private final StackstreamLibrary lib;
    private final List<String> argv;
    private final int pid;
    private boolean resumed;
    private volatile Integer exitStatus;

    private LaunchedCommand(StackstreamLibrary lib, List<String> argv, int pid) {
        this.lib = lib;
        this.argv = argv;
        this.pid = pid;
    }

    /**
     * Forks and prepares argv[0] (searched in PATH), held before exec.
     *
     * @throws ProfilerException when the command cannot be started (not found, not executable,
     *     fork failed), with the native message
     */
    public static LaunchedCommand hold(List<String> argv) throws ProfilerException {
        Objects.requireNonNull(argv, "argv");
        if (argv.isEmpty() || argv.get(0).isEmpty()) {
            throw new IllegalArgumentException("no command given");
        }
        StackstreamLibrary lib = NativeLoader.library();
        byte[] err = new byte[ERR_LEN];
        int pid = lib.ss_spawn(argv.toArray(new String[0]), err, err.length);
        if (pid <= 0) {
            throw new ProfilerException("cannot start " + argv.get(0) + ": "
                    + NativeLoader.message(err, lib.ss_strerror(pid)), pid, true);
        }
        return new LaunchedCommand(lib, List.copyOf(argv), pid);
    }

    public int pid() {
        return pid;
    }

    public List<String> argv() {
        return argv;
    }

    /** Lets the held command exec. Idempotent. */
    public synchronized void resume() throws ProfilerException {
        if (resumed) {
            return;
        }
        int rc = lib.ss_resume(pid);
        if (rc < 0) {
            throw new ProfilerException("cannot resume " + argv.get(0) + " (pid " + pid + "): "
                    + lib.ss_strerror(rc), rc);
        }
        resumed = true;
    }

    /**
     * Waits for the command to exit and reaps it.
     *
     * @param timeout how long to wait; null waits forever, zero polls
     * @return the exit status (code, or 128 + signal), or empty when still running at the timeout
     */
    public synchronized OptionalInt waitFor(Duration timeout) throws ProfilerException {
        if (exitStatus != null) {
            return OptionalInt.of(exitStatus);
        }
        int ms = timeout == null ? -1 : (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        int rc = lib.ss_wait(pid, ms);
        if (rc == -EAGAIN) {
            return OptionalInt.empty();
        }
        if (rc < 0) {
            throw new ProfilerException("waiting for " + argv.get(0) + " (pid " + pid + ") failed: "
                    + lib.ss_strerror(rc), rc);
        }
        exitStatus = rc;
        return OptionalInt.of(rc);
    }

    /**
     * Sends SIGTERM (or SIGKILL when forcibly) to the command if it has not been reaped yet. Not
     * synchronized: a shutdown hook must be able to call it while another thread is in waitFor.
     */
    public void terminate(boolean forcibly) {
        if (exitStatus != null) {
            return;
        }
        ProcessHandle.of(pid).ifPresent(h -> {
            if (forcibly) {
                h.destroyForcibly();
            } else {
                h.destroy();
            }
        });
    }
}
