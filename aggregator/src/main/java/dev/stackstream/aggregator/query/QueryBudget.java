package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.engine.DurationText;
import java.io.OutputStream;
import java.time.Duration;

/**
 * The budget of the query being answered on this thread: its deadline and its response bound
 * ({@link QueryLimits}). The HTTP layer opens one per request ({@link #enter}); the bucket walk and
 * the fan-out read it through {@link #current()}, so the deadline reaches the innermost loop
 * without threading a parameter through every query signature. Outside a request (tests, tools)
 * the current budget is unlimited.
 */
public final class QueryBudget {
    /** The fewest bytes one (stack, thread) entry takes in any answer (a 16-byte id and a count). */
    static final int BYTES_PER_ENTRY = 24;
    private static final ThreadLocal<QueryBudget> CURRENT = new ThreadLocal<>();
    private static final QueryBudget UNLIMITED = new QueryBudget(null, Long.MAX_VALUE, Long.MAX_VALUE,
            Integer.MAX_VALUE - 8, Duration.ZERO);

    private final QueryLimits limits;
    private final long startNanos;
    private final long timeoutNanos;
    private final long maxResponseBytes;
    private final Duration timeout;

    private QueryBudget(QueryLimits limits, long startNanos, long timeoutNanos, long maxResponseBytes,
                        Duration timeout) {
        this.limits = limits;
        this.startNanos = startNanos;
        this.timeoutNanos = timeoutNanos;
        this.maxResponseBytes = maxResponseBytes;
        this.timeout = timeout;
    }

    /**
     * Opens the budget of one request on this thread: the configured timeout, or the client's
     * {@code timeout} parameter when it is shorter (a longer one is capped, not refused: the client
     * gets at most what the operator allows). Close it when the request is answered.
     */
    public static Scope enter(QueryLimits limits, String requestedTimeout) {
        Duration asked = null;
        if (requestedTimeout != null && !requestedTimeout.isBlank()) {
            try {
                asked = DurationText.parse(requestedTimeout);
            } catch (IllegalArgumentException e) {
                throw ApiException.badParameter("timeout", e.getMessage());
            }
            if (asked.isZero()) {
                throw ApiException.badParameter("timeout", "must be at least 1ms");
            }
        }
        return enter(limits, asked);
    }

    /**
     * Opens the budget of one request whose client asked for a deadline already parsed (null: none),
     * e.g. Connect's {@code Connect-Timeout-Ms}: it only shortens the configured timeout. A zero
     * timeout is a deadline that has already passed (the first {@link #checkDeadline} fails).
     */
    public static Scope enter(QueryLimits limits, Duration requestedTimeout) {
        Duration t = limits.timeout();
        if (requestedTimeout != null && requestedTimeout.compareTo(t) < 0) {
            t = requestedTimeout;
        }
        QueryBudget b = new QueryBudget(limits, limits.ticker().getAsLong(), t.toNanos(), limits.maxResponseBytes(), t);
        QueryBudget outer = CURRENT.get();
        CURRENT.set(b);
        return () -> {
            if (outer == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(outer);
            }
        };
    }

    /** The budget of the request on this thread, or an unlimited one. */
    public static QueryBudget current() {
        QueryBudget b = CURRENT.get();
        return b == null ? UNLIMITED : b;
    }

    /** Nanoseconds left before the deadline (never negative). */
    public long remainingNanos() {
        if (limits == null) {
            return Long.MAX_VALUE;
        }
        return Math.max(0, timeoutNanos - (limits.ticker().getAsLong() - startNanos));
    }

    /** Whole milliseconds left, at least 1 (for a peer's {@code timeout} parameter). */
    public long remainingMillis() {
        return Math.max(1, Math.min(Long.MAX_VALUE / 2, remainingNanos() / 1_000_000));
    }

    /** True for the budget of a request (false outside one). */
    public boolean limited() {
        return limits != null;
    }

    /**
     * Throws a 504 when the deadline has passed; where says what was being done (the message tells
     * the client what to narrow).
     */
    public void checkDeadline(String where) {
        if (limits != null && remainingNanos() == 0) {
            throw ApiException.deadlineExceeded("the query ran past its deadline of " + DurationText.format(timeout)
                    + " while " + where + " (the aggregator's --query-timeout, or the shorter"
                    + " timeout= / Connect-Timeout-Ms the request asked for); narrow the time range or the labels");
        }
    }

    /**
     * Throws a 422 when a merge holds more (stack, thread) entries than an answer within the
     * response limit could show: at least {@value #BYTES_PER_ENTRY} bytes each in any format, so
     * the merge stops before its maps outgrow the heap, not after rendering.
     */
    public void checkEntries(int entries) {
        if ((long) entries * BYTES_PER_ENTRY > maxResponseBytes) {
            throw ResponseLimit.tooLarge(maxResponseBytes);
        }
    }

    /** Throws a 422 when an answer of n bytes exceeds the response limit. */
    public void checkResponseBytes(long n) {
        if (n > maxResponseBytes) {
            throw ResponseLimit.tooLarge(maxResponseBytes);
        }
    }

    /** The largest answer body in bytes. */
    public long maxResponseBytes() {
        return maxResponseBytes;
    }

    /** An output that refuses (422) to grow past {@link #maxResponseBytes()}. */
    public OutputStream boundedOutput(OutputStream out) {
        return new ResponseLimit(out, maxResponseBytes);
    }

    /** Ends the request's budget. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
