package dev.stackstream.symbols;

import dev.stackstream.profile.Frame;
import java.util.List;

/**
 * Turns sampled instruction addresses into {@link Frame}s.
 *
 * <p>Contract: {@link #symbolize} never throws for bad input files (corrupt ELF, unreadable maps,
 * a process that exited); what cannot be named comes back as an unresolved frame (module path +
 * file offset + build-id) and the cause is counted in {@link #stats()}. Exactly one frame per
 * address; none is dropped or guessed. Implementations are thread-safe.
 */
public interface Symbolizer extends AutoCloseable {

    /**
     * An executable mapping of pid, as reported by the native drain (SS_REC_MMAP).
     *
     * @param buildId GNU build-id bytes, or null when the kernel did not report one
     */
    void onMapping(int pid, long start, long length, long fileOffset, String path, byte[] buildId);

    /** pid exited: its per-process state may be dropped once no pending stack needs it. */
    void onProcessExit(int pid);

    /**
     * Symbolizes one stack.
     *
     * @param ips addresses leaf first (as drained); every entry after the first of its space
     *     (kernel or user) is a return address and is looked up at {@code ip - 1}
     * @param kernelDepth how many leading entries are kernel addresses
     * @return frames ROOT FIRST, exactly {@code ips.length} of them
     */
    List<Frame> symbolize(int pid, long[] ips, int kernelDepth);

    /** Cumulative counters since creation. */
    SymbolizerStats stats();

    /** Stops background work (perf-map requests) and drops caches. */
    @Override
    void close();
}
