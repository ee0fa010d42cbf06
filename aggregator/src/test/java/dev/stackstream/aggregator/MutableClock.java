package dev.stackstream.aggregator;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** The system clock plus an offset a test can move forward (to close rollup buckets). */
public final class MutableClock extends Clock {
    private final AtomicLong offsetMillis = new AtomicLong();

    public MutableClock() {
    }

    /** A clock that reads {@code start} now and runs on from there. */
    public static MutableClock at(Instant start) {
        MutableClock c = new MutableClock();
        c.offsetMillis.set(start.toEpochMilli() - System.currentTimeMillis());
        return c;
    }

    public void advance(Duration d) {
        offsetMillis.addAndGet(d.toMillis());
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public long millis() {
        return System.currentTimeMillis() + offsetMillis.get();
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis());
    }
}
