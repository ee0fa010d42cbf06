package dev.stackstream.profile;

import java.util.Objects;

/**
 * What a profile's counts measure.
 *
 * @param name short name used in queries: {@code cpu}, {@code wall}, {@code offcpu},
 *     {@code page-faults}, {@code context-switches}, {@code alloc}
 * @param unit unit of one sample's weight: {@code nanoseconds} for cpu, {@code count} for events,
 *     {@code bytes} for alloc
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

    /**
     * Wall-clock time: on-CPU samples at {@code hz} and off-CPU intervals in one unit, so a
     * sample stands for 1e9/hz ns as in {@link #cpu}, and off-CPU time counts in those units too.
     */
    public static ProfileType wall(int hz) {
        ProfileType cpu = cpu(hz);
        return new ProfileType("wall", cpu.unit(), cpu.period());
    }

    /** Weight of one count of an off-CPU profile: 1 µs (intervals are measured in ns). */
    public static final long OFF_CPU_QUANTUM_NS = 1_000;

    /** Off-CPU time: the stacks threads blocked in, weighted by the time until they ran again. */
    public static ProfileType offCpu() {
        return new ProfileType("offcpu", "nanoseconds", OFF_CPU_QUANTUM_NS);
    }

    /** Page faults, one sample every {@code period} faults. */
    public static ProfileType pageFaults(long period) {
        return new ProfileType("page-faults", "count", period);
    }

    /**
     * Bytes allocated (malloc, calloc, realloc), estimated from byte-sampled allocations: a count is
     * one byte.
     */
    public static ProfileType allocSpace() {
        return new ProfileType("alloc", "bytes", 1);
    }

    /** Allocations (malloc, calloc, realloc calls), estimated from the same samples as {@link #allocSpace()}. */
    public static ProfileType allocObjects() {
        return new ProfileType("alloc-objects", "count", 1);
    }

    /** The sampling frequency this type implies, for cpu profiles. */
    public double frequencyHz() {
        return 1e9 / period;
    }
}
