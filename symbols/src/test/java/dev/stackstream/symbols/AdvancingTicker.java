package dev.stackstream.symbols;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A ticker for tests: the system's time plus whatever the test has moved it on by, so intervals
 * that a test waits through pass at once while the rest still runs on real time.
 */
public final class AdvancingTicker implements Ticker {
    private final AtomicLong offset = new AtomicLong();

    @Override
    public long nanos() {
        return System.nanoTime() + offset.get();
    }

    /** Moves time on by d. */
    public void advance(Duration d) {
        offset.addAndGet(d.toNanos());
    }
}
