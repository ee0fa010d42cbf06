package dev.stackstream.symbols;

/**
 * The monotonic time symbolizers measure their intervals with (perf-map refresh, maps re-reads,
 * exit grace, kernel-symbol reloads), in nanoseconds with an arbitrary origin like
 * {@link System#nanoTime()}. Injected through {@link SymbolizerOptions#ticker()} so tests move time
 * on instead of sleeping through an interval.
 */
@FunctionalInterface
public interface Ticker {
    /** The current reading; only differences between readings mean anything. */
    long nanos();

    /** {@link System#nanoTime()}. */
    static Ticker system() {
        return System::nanoTime;
    }
}
