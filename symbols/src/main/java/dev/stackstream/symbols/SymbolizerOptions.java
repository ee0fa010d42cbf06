package dev.stackstream.symbols;

import dev.stackstream.symbols.jit.PerfMapFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How a {@link Symbolizer} names frames.
 *
 * @param jvmPerfMaps detect JVM targets (libjvm.so mapped) and ask them periodically, through
 *     {@code jcmd PID Compiler.perfmap}, to write {@code /tmp/perf-PID.map}
 * @param kernel name kernel frames through /proc/kallsyms (when its addresses are readable)
 * @param perfMapRefresh at most this often a perf map is re-checked (size/mtime) and reloaded
 * @param jcmdInterval how often a JVM target is asked to rewrite its perf map
 * @param jcmdTimeout how long one jcmd run may take before it is killed
 * @param cacheBytes bound of the symbol-table cache (estimated heap bytes), shared by all processes
 * @param debugDirs roots searched for separate debug files ({@code .build-id/xx/rest.debug} and
 *     {@code .gnu_debuglink} targets); Debian's is {@code /usr/lib/debug}
 * @param demangle demangle C++ and Rust symbols through the C++ runtime's own demangler
 * @param mapsRefreshMin an address outside every known mapping re-reads /proc/PID/maps at most
 *     this often per process (a process with truly unmapped addresses must not re-read maps per frame)
 * @param exitGrace how long a process's state is kept after its exit notice: stacks are drained per
 *     window, so some arrive after the exit record and still need its mappings
 * @param ticker the time those intervals are measured in ({@link Ticker#system()}; tests inject their own)
 * @param perfMapLimits bytes of one perf map read at most, longest line accepted (16 MiB, 16 KiB)
 * @param attachReplyMax bytes of a JVM's attach reply read at most (64 KiB); the request's timeout
 *     is {@code jcmdTimeout}
 */
public record SymbolizerOptions(boolean jvmPerfMaps, boolean kernel, Duration perfMapRefresh,
                                Duration jcmdInterval, Duration jcmdTimeout, long cacheBytes,
                                List<Path> debugDirs, boolean demangle, Duration mapsRefreshMin,
                                Duration exitGrace, Ticker ticker,
                                PerfMapFile.Limits perfMapLimits, int attachReplyMax) {

    public SymbolizerOptions {
        Objects.requireNonNull(perfMapRefresh, "perfMapRefresh");
        Objects.requireNonNull(jcmdInterval, "jcmdInterval");
        Objects.requireNonNull(jcmdTimeout, "jcmdTimeout");
        Objects.requireNonNull(mapsRefreshMin, "mapsRefreshMin");
        Objects.requireNonNull(exitGrace, "exitGrace");
        Objects.requireNonNull(ticker, "ticker");
        Objects.requireNonNull(perfMapLimits, "perfMapLimits");
        if (attachReplyMax < 16) {
            throw new IllegalArgumentException("attachReplyMax must be >= 16, got " + attachReplyMax);
        }
        debugDirs = List.copyOf(debugDirs);
        if (cacheBytes <= 0) {
            throw new IllegalArgumentException("cacheBytes must be > 0, got " + cacheBytes);
        }
    }

    /** Everything on: perf maps refreshed every second, jcmd every 10 s, 256 MiB of symbol tables. */
    public static SymbolizerOptions defaults() {
        return new SymbolizerOptions(true, true, Duration.ofSeconds(1), Duration.ofSeconds(10),
                Duration.ofSeconds(10), 256L << 20, List.of(Path.of("/usr/lib/debug")), true,
                Duration.ofMillis(200), Duration.ofSeconds(30), Ticker.system(),
                PerfMapFile.Limits.DEFAULT, 64 << 10);
    }

    public SymbolizerOptions withJvmPerfMaps(boolean on) {
        return new SymbolizerOptions(on, kernel, perfMapRefresh, jcmdInterval, jcmdTimeout, cacheBytes,
                debugDirs, demangle, mapsRefreshMin, exitGrace, ticker,
                perfMapLimits, attachReplyMax);
    }

    public SymbolizerOptions withKernel(boolean on) {
        return new SymbolizerOptions(jvmPerfMaps, on, perfMapRefresh, jcmdInterval, jcmdTimeout, cacheBytes,
                debugDirs, demangle, mapsRefreshMin, exitGrace, ticker,
                perfMapLimits, attachReplyMax);
    }

    public SymbolizerOptions withPerfMapRefresh(Duration d) {
        return new SymbolizerOptions(jvmPerfMaps, kernel, d, jcmdInterval, jcmdTimeout, cacheBytes,
                debugDirs, demangle, mapsRefreshMin, exitGrace, ticker,
                perfMapLimits, attachReplyMax);
    }

    public SymbolizerOptions withJcmdInterval(Duration d) {
        return new SymbolizerOptions(jvmPerfMaps, kernel, perfMapRefresh, d, jcmdTimeout, cacheBytes,
                debugDirs, demangle, mapsRefreshMin, exitGrace, ticker,
                perfMapLimits, attachReplyMax);
    }

    public SymbolizerOptions withCacheBytes(long bytes) {
        return new SymbolizerOptions(jvmPerfMaps, kernel, perfMapRefresh, jcmdInterval, jcmdTimeout, bytes,
                debugDirs, demangle, mapsRefreshMin, exitGrace, ticker,
                perfMapLimits, attachReplyMax);
    }

    public SymbolizerOptions withDebugDirs(List<Path> dirs) {
        return new SymbolizerOptions(jvmPerfMaps, kernel, perfMapRefresh, jcmdInterval, jcmdTimeout, cacheBytes,
                dirs, demangle, mapsRefreshMin, exitGrace, ticker,
                perfMapLimits, attachReplyMax);
    }

    public SymbolizerOptions withExitGrace(Duration d) {
        return new SymbolizerOptions(jvmPerfMaps, kernel, perfMapRefresh, jcmdInterval, jcmdTimeout, cacheBytes,
                debugDirs, demangle, mapsRefreshMin, d, ticker,
                perfMapLimits, attachReplyMax);
    }

    public SymbolizerOptions withTicker(Ticker t) {
        return new SymbolizerOptions(jvmPerfMaps, kernel, perfMapRefresh, jcmdInterval, jcmdTimeout, cacheBytes,
                debugDirs, demangle, mapsRefreshMin, exitGrace, t,
                perfMapLimits, attachReplyMax);
    }

    public SymbolizerOptions withDemangle(boolean on) {
        return new SymbolizerOptions(jvmPerfMaps, kernel, perfMapRefresh, jcmdInterval, jcmdTimeout, cacheBytes,
                debugDirs, on, mapsRefreshMin, exitGrace, ticker,
                perfMapLimits, attachReplyMax);
    }

    // Bounds on a target's files (branch naming): kept apart from the options above to ease merges.

    public SymbolizerOptions withPerfMapLimits(PerfMapFile.Limits limits) {
        return new SymbolizerOptions(jvmPerfMaps, kernel, perfMapRefresh, jcmdInterval, jcmdTimeout, cacheBytes,
                debugDirs, demangle, mapsRefreshMin, exitGrace, ticker, limits, attachReplyMax);
    }

    public SymbolizerOptions withJcmdTimeout(Duration d) {
        return new SymbolizerOptions(jvmPerfMaps, kernel, perfMapRefresh, jcmdInterval, d, cacheBytes,
                debugDirs, demangle, mapsRefreshMin, exitGrace, ticker, perfMapLimits, attachReplyMax);
    }

    public SymbolizerOptions withAttachReplyMax(int bytes) {
        return new SymbolizerOptions(jvmPerfMaps, kernel, perfMapRefresh, jcmdInterval, jcmdTimeout, cacheBytes,
                debugDirs, demangle, mapsRefreshMin, exitGrace, ticker, perfMapLimits, bytes);
    }
}
