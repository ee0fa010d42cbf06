package dev.stackstream.symbols;

import dev.stackstream.profile.FrameKind;
import java.util.List;
import java.util.Map;

/**
 * Cumulative symbolization counters.
 *
 * @param lookups addresses symbolized
 * @param resolved addresses that got a function name
 * @param unresolved addresses left as module + offset
 * @param byFrameKind resolved/unresolved split by {@link FrameKind}
 * @param byModuleKind resolved/unresolved split by {@link ModuleKind}
 * @param warnings warnings counted by cause (e.g. {@code elf-corrupt}, {@code perf-map-bad-line},
 *     {@code maps-unreadable}); each also logged once per file
 * @param rustV0Kept Rust v0 ({@code _R}) symbols kept mangled (no maintained demangler reachable)
 * @param notes one-line notes for the operator, e.g. which JVM targets need
 *     {@code -XX:+PreserveFramePointer} for full stacks; each note appears once
 * @param cachedModules binaries whose symbol tables are in the cache
 * @param cachedBytes estimated heap bytes of those tables
 * @param jvmTargets JVM processes asked for perf maps
 * @param jcmdRuns {@code jcmd Compiler.perfmap} runs started
 * @param jcmdFailures of those, runs that failed or timed out
 */
public record SymbolizerStats(long lookups, long resolved, long unresolved,
                              Map<FrameKind, Counts> byFrameKind, Map<ModuleKind, Counts> byModuleKind,
                              Map<String, Long> warnings, long rustV0Kept, List<String> notes,
                              long cachedModules, long cachedBytes, long jvmTargets, long jcmdRuns,
                              long jcmdFailures) {

    public SymbolizerStats {
        byFrameKind = Map.copyOf(byFrameKind);
        byModuleKind = Map.copyOf(byModuleKind);
        warnings = Map.copyOf(warnings);
        notes = List.copyOf(notes);
    }

    /** Resolved and unresolved addresses of one kind. */
    public record Counts(long resolved, long unresolved) {
        public long total() {
            return resolved + unresolved;
        }

        /** Fraction named, 0..1; 1 when nothing was looked up. */
        public double hitRate() {
            long t = total();
            return t == 0 ? 1.0 : (double) resolved / t;
        }
    }

    /** Total number of warnings over all causes. */
    public long warningCount() {
        return warnings.values().stream().mapToLong(Long::longValue).sum();
    }
}
