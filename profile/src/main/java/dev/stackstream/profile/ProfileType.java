package dev.stackstream.profile;

import java.util.Objects;

/**
 * What a profile's counts measure.
 *
 * @param name short name used in queries: {@code cpu}, {@code page-faults}, {@code context-switches}
 * @param unit unit of one sample's weight: {@code nanoseconds} for cpu, {@code count} for events
 * @param period weight of one sample in {@code unit} (e.g. 1,001,001 ns at 999 Hz)
 */
public record ProfileType(String name, String unit, long period) {

    public ProfileType {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(unit, "unit");
        if (period <= 0) {
            throw new IllegalArgumentException("period must be > 0, got " + period);
        }
    }

    /** CPU time sampled at {@code hz} samples per second: each sample stands for 1e9/hz ns. */
    public static ProfileType cpu(int hz) {
        if (hz <= 0) {
            throw new IllegalArgumentException("frequency must be > 0 Hz, got " + hz);
        }
        return new ProfileType("cpu", "nanoseconds", 1_000_000_000L / hz);
    }

    /** The sampling frequency this type implies, for cpu profiles. */
    public double frequencyHz() {
        return 1e9 / period;
    }
}
