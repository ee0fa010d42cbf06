package dev.stackstream.collector.sidecar;

/**
 * Exit status of {@code stackstream collector}. Documented in the command's help footer and the
 * collector README.
 */
public final class ExitCodes {
    /** Stopped by SIGTERM/SIGINT (last window flushed), or a --pid/--cgroup target ended. */
    public static final int OK = 0;
    /** Bad command line: unknown option, missing target or service, malformed value. */
    public static final int USAGE = 1;
    /** The kernel refused perf events: needs CAP_PERFMON (or perf_event_paranoid <= 1/2). */
    public static final int PERMISSION = 2;
    /** The target does not exist: no such --pid, --cgroup path missing. */
    public static final int TARGET_MISSING = 3;
    /** The Kafka client configuration is invalid (a bad --kafka-property, unreadable --kafka-config). */
    public static final int KAFKA_CONFIG = 4;
    /** Any other failure while sampling (native library not loadable, fd limit...). */
    public static final int SAMPLING_FAILED = 5;
    /** Windows were still undelivered when the shutdown timeout passed (the broker was away). */
    public static final int UNDELIVERED = 6;

    private ExitCodes() {
    }
}
