package dev.stackstream.aggregator.query;

import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * What one query may spend: a deadline (a client may ask for a shorter one with {@code timeout=},
 * never a longer one) and a bound on the bytes of its answer. Both protect the instance from a
 * query that would walk a long history or render a huge profile: the walk stops at the deadline
 * (504) and the answer stops at the bound (422), before either exhausts the heap or a thread.
 *
 * @param timeout the longest a query runs (default 10 s)
 * @param maxResponseBytes the largest answer body, also the largest partial result accepted from a
 *                         peer (default 32 MiB)
 * @param ticker monotonic nanoseconds ({@code System::nanoTime}; tests inject their own)
 */
public record QueryLimits(Duration timeout, long maxResponseBytes, LongSupplier ticker) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    public static final long DEFAULT_MAX_RESPONSE_BYTES = 32L << 20;
    public static final QueryLimits DEFAULTS = new QueryLimits(DEFAULT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
            System::nanoTime);

    public QueryLimits {
        Objects.requireNonNull(ticker, "ticker");
        if (timeout.toMillis() < 1 || timeout.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("query timeout must be between 1ms and 1h, got " + timeout);
        }
        if (maxResponseBytes < 4096 || maxResponseBytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("query response limit must be between 4096 bytes and 2 GiB, got "
                    + maxResponseBytes);
        }
    }

    /** The same limits read from another ticker. */
    public QueryLimits withTicker(LongSupplier t) {
        return new QueryLimits(timeout, maxResponseBytes, t);
    }
}
