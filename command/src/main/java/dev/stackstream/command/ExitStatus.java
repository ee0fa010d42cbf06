package dev.stackstream.command;

import java.io.PrintWriter;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TimeoutException;
import picocli.CommandLine;

/**
 * The exit status of every stackstream command: one table, applied through picocli's own
 * mechanisms by {@link #install(CommandLine)}. The root README ("Exit status") shows the same table.
 *
 * <table>
 * <caption>Exit status</caption>
 * <tr><th>status</th><th>meaning</th></tr>
 * <tr><td>0</td><td>{@link #OK}: done, or a service stopped in order</td></tr>
 * <tr><td>1</td><td>{@link #FAILURE}: a failure no other row names</td></tr>
 * <tr><td>2</td><td>{@link #USAGE}: bad command line (picocli's own usage status)</td></tr>
 * <tr><td>3</td><td>{@link #PERMISSION}: the kernel refused perf events</td></tr>
 * <tr><td>4</td><td>{@link #TARGET_MISSING}: what was to be profiled does not exist</td></tr>
 * <tr><td>5</td><td>{@link #KAFKA_CONFIG}: the Kafka client configuration is invalid</td></tr>
 * <tr><td>6</td><td>{@link #KAFKA_UNREACHABLE}: Kafka did not answer in time</td></tr>
 * <tr><td>125, 126, 127</td><td>{@code record} only, whose status is otherwise the profiled
 *     command's: {@link #RECORD_FAILED}, {@link #CANNOT_EXECUTE}, {@link #NOT_FOUND}</td></tr>
 * </table>
 *
 * <p>A service stopped by Ctrl-C or SIGTERM ends with the JVM's status for the signal (130, 143)
 * once its orderly stop is done.
 */
public final class ExitStatus {
    /** Done; a service stopped in order; a {@code --pid}/{@code --cgroup} target ended. */
    public static final int OK = 0;
    /**
     * A failure no other row names: sampling broke (native library, fd limit), Kafka Streams
     * failed, a broker started by {@code kafka} died, {@code render}'s input cannot be read.
     */
    public static final int FAILURE = 1;
    /** Bad command line: unknown option, missing or malformed value, a port that cannot be bound. */
    public static final int USAGE = 2;
    /** The kernel refused perf events (EPERM, EACCES): CAP_PERFMON or kernel.perf_event_paranoid. */
    public static final int PERMISSION = 3;
    /** What was to be profiled does not exist (ESRCH, ENOENT): no such pid, cgroup or workload. */
    public static final int TARGET_MISSING = 4;
    /** The Kafka client configuration is invalid, or the broker refused it (authentication, authorization). */
    public static final int KAFKA_CONFIG = 5;
    /** Kafka did not answer in time: at start, or at shutdown with windows still undelivered. */
    public static final int KAFKA_UNREACHABLE = 6;
    /** {@code record}: profiling or its Kafka leg failed (as env(1) and timeout(1) use 125). */
    public static final int RECORD_FAILED = 125;
    /** {@code record}: the command cannot be executed, as shells report it. */
    public static final int CANNOT_EXECUTE = 126;
    /** {@code record}: the command was not found, as shells report it. */
    public static final int NOT_FOUND = 127;

    private static final int EPERM = 1;
    private static final int ENOENT = 2;
    private static final int ESRCH = 3;
    private static final int EACCES = 13;

    private ExitStatus() {
    }

    /** Implemented by exceptions that know their row of the table. */
    public interface Classified {
        /** One of this class's statuses. */
        int exitStatus();
    }

    /**
     * The status for a failure: the first exception along the cause chain that the table names
     * ({@link Classified}, Kafka's {@link TimeoutException} = unreachable, any other
     * {@link KafkaException} = configuration), else {@link #FAILURE}.
     */
    public static int of(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof CommandLine.ParameterException) {
                return USAGE;
            }
            if (t instanceof Classified c) {
                return c.exitStatus();
            }
            if (t instanceof TimeoutException) {
                return KAFKA_UNREACHABLE;
            }
            if (t instanceof KafkaException) {
                return KAFKA_CONFIG;
            }
        }
        return FAILURE;
    }

    /** The row of a failed system call's errno (positive): permission, target missing, or failure. */
    public static int forErrno(int errno) {
        return switch (errno) {
            case EPERM, EACCES -> PERMISSION;
            case ESRCH, ENOENT -> TARGET_MISSING;
            default -> FAILURE;
        };
    }

    /**
     * Applies the table to a command line and its subcommands: usage errors exit with
     * {@link #USAGE}, and an exception out of a command prints one line (the command's name and
     * the message; the stack trace too when it is a programming error) and exits with {@link #of}.
     * Returns {@code cl}.
     */
    public static CommandLine install(CommandLine cl) {
        cl.setExitCodeExceptionMapper(ExitStatus::of);
        cl.setExecutionExceptionHandler((e, failed, parsed) -> {
            PrintWriter err = failed.getErr();
            err.println(failed.getCommandSpec().qualifiedName() + ": " + Secrets.scrub(describe(e)));
            if (unexpected(e)) {
                java.io.StringWriter trace = new java.io.StringWriter();
                e.printStackTrace(new PrintWriter(trace));
                err.print(Secrets.scrub(trace.toString()));
            }
            err.flush();
            return of(e);
        });
        return cl;
    }

    /** The message, and the cause's when it adds to it ("Failed to construct kafka producer (...)"). */
    static String describe(Throwable e) {
        String message = e.getMessage() != null ? e.getMessage() : e.toString();
        Throwable cause = e.getCause();
        if (cause != null && cause.getMessage() != null && !message.contains(cause.getMessage())) {
            message += " (" + cause.getMessage() + ")";
        }
        return message;
    }

    /** An unchecked exception the table does not name: a bug, worth its stack trace. */
    private static boolean unexpected(Exception e) {
        return e instanceof RuntimeException && !(e instanceof Classified) && !(e instanceof KafkaException);
    }
}
