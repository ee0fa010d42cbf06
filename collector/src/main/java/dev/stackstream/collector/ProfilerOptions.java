package dev.stackstream.collector;

import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Options of the in-process {@link Profiler}. Immutable; {@link #defaults()} profiles this JVM at
 * 999 Hz (a sample about every 1 ms), per thread, kernel frames when permitted.
 */
public final class ProfilerOptions {
    private final SamplingOptions sampling;
    private final Duration window;
    private final SymbolizerOptions symbolizerOptions;
    private final Symbolizer symbolizer;
    private final Clock clock;
    private final Map<String, String> labels;

    private ProfilerOptions(Builder b) {
        this.sampling = b.sampling.build();
        this.window = b.window;
        this.symbolizerOptions = b.symbolizerOptions;
        this.symbolizer = b.symbolizer;
        this.clock = b.clock;
        this.labels = Map.copyOf(b.labels);
    }

    public static ProfilerOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** What the native core samples. */
    public SamplingOptions sampling() {
        return sampling;
    }

    /**
     * How often the native stack table is drained while a session runs. Draining keeps the table
     * (and its memory cap) small on long sessions; the windows are merged into one profile.
     */
    public Duration window() {
        return window;
    }

    public SymbolizerOptions symbolizerOptions() {
        return symbolizerOptions;
    }

    /** A caller-owned symbolizer shared by sessions (its caches survive them), or null for one per session. */
    public Symbolizer symbolizer() {
        return symbolizer;
    }

    public Clock clock() {
        return clock;
    }

    /** Labels put on the resulting profile (service, ...). */
    public Map<String, String> labels() {
        return labels;
    }

    /** Builder. */
    public static final class Builder {
        private final SamplingOptions.Builder sampling = SamplingOptions.builder().pid(0).followChildren(false);
        private Duration window = Duration.ofSeconds(1);
        private SymbolizerOptions symbolizerOptions = SymbolizerOptions.defaults();
        private Symbolizer symbolizer;
        private Clock clock = Clock.systemUTC();
        private final Map<String, String> labels = new TreeMap<>();

        private Builder() {
        }

        /** Profiles another process instead of this JVM (0 = this JVM, the default). */
        public Builder pid(int pid) {
            sampling.pid(pid);
            return this;
        }

        public Builder frequencyHz(int hz) {
            sampling.frequencyHz(hz);
            return this;
        }

        public Builder perThread(boolean on) {
            sampling.perThread(on);
            return this;
        }

        public Builder kernelMode(SamplingOptions.KernelMode mode) {
            sampling.kernelMode(mode);
            return this;
        }

        public Builder maxDepth(int depth) {
            sampling.maxDepth(depth);
            return this;
        }

        public Builder followChildren(boolean on) {
            sampling.followChildren(on);
            return this;
        }

        public Builder window(Duration window) {
            if (window.isZero() || window.isNegative()) {
                throw new IllegalArgumentException("window must be > 0, got " + window);
            }
            this.window = window;
            return this;
        }

        public Builder symbolizerOptions(SymbolizerOptions options) {
            this.symbolizerOptions = Objects.requireNonNull(options, "options");
            return this;
        }

        /** Uses a caller-owned symbolizer (not closed by sessions) instead of one per session. */
        public Builder symbolizer(Symbolizer symbolizer) {
            this.symbolizer = symbolizer;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public Builder label(String name, String value) {
            labels.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        public ProfilerOptions build() {
            return new ProfilerOptions(this);
        }
    }
}
