package dev.stackstream.collector.sampling;

import dev.stackstream.command.ExitStatus;

/**
 * Profiling could not start or continue. The message names the cause and, where there is one, the
 * fix (a capability such as CAP_PERFMON, a sysctl such as kernel.perf_event_paranoid, an rlimit),
 * as the native core reports it. Its exit status follows from the errno: permission (EPERM,
 * EACCES), target missing (ESRCH, ENOENT), else failure.
 */
public final class ProfilerException extends Exception implements ExitStatus.Classified {
    private final int errorCode;
    private final boolean commandNotStarted;

    /**
     * @param errorCode the native negative errno ({@code -ESRCH}...), or 0 when the failure did not
     *     come from a system call
     */
    public ProfilerException(String message, int errorCode) {
        this(message, errorCode, false);
    }

    /**
     * @param commandNotStarted true when a command to be profiled could not be started (not found,
     *     not executable): the command's failure rather than the profiler's
     */
    public ProfilerException(String message, int errorCode, boolean commandNotStarted) {
        super(message);
        this.errorCode = errorCode;
        this.commandNotStarted = commandNotStarted;
    }

    public ProfilerException(String message, Throwable cause) {
        super(message, cause);
        this.errorCode = 0;
        this.commandNotStarted = false;
    }

    /** True when a command to profile could not be started (see {@link #errorCode()} for why). */
    public boolean commandNotStarted() {
        return commandNotStarted;
    }

    /** Negative errno reported by the native core, or 0. */
    public int errorCode() {
        return errorCode;
    }

    @Override
    public int exitStatus() {
        return ExitStatus.forErrno(-errorCode);
    }
}
