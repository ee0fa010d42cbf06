package dev.stackstream.collector.sampling;

import dev.stackstream.collector.nativeapi.SsStats;

/**
 * Cumulative counters of a sampling session since it opened ({@code struct ss_stats}).
 *
 * @param samples samples counted into the stack table
 * @param lost samples the kernel dropped (ring buffer full)
 * @param throttled times the kernel throttled the event
 * @param tableOverflow samples not counted because the stack table reached its memory cap
 * @param truncated stacks cut at the depth limit
 * @param leafFixups leaf callers restored from the sampled user stack
 * @param threadsAttached events opened over the session (existing and new threads)
 * @param threadsExited events closed because their thread exited
 * @param attachFailures threads that vanished or refused between discovery and open
 * @param tableBytes memory the stack table holds now
 * @param openFds perf file descriptors open now
 * @param kernelFrames whether kernel frames are being captured
 * @param instructionsAvailable whether a hardware instructions counter is read with each sample
 * @param unwind unwinding counters (stacks cut by reason, frames by method, unwind tables)
 * @param allocUnprobed alloc profiles: processes that exec'd a static binary, whose allocations cannot be seen
 */
public record NativeStats(long samples, long lost, long throttled, long tableOverflow, long truncated,
                          long leafFixups, long threadsAttached, long threadsExited, long attachFailures,
                          long tableBytes, int openFds, boolean kernelFrames, boolean instructionsAvailable,
                          UnwindStats unwind, long allocUnprobed) {

    /** Zero counters, before anything was read. */
    public static final NativeStats ZERO = new NativeStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, false);

    /** Counters without unwinding figures (FP-only sessions, tests). */
    public NativeStats(long samples, long lost, long throttled, long tableOverflow, long truncated, long leafFixups,
                       long threadsAttached, long threadsExited, long attachFailures, long tableBytes, int openFds,
                       boolean kernelFrames, boolean instructionsAvailable) {
        this(samples, lost, throttled, tableOverflow, truncated, leafFixups, threadsAttached, threadsExited,
                attachFailures, tableBytes, openFds, kernelFrames, instructionsAvailable, UnwindStats.ZERO, 0);
    }

    static NativeStats of(SsStats s) {
        return new NativeStats(s.samples, s.lost, s.throttled, s.table_overflow, s.truncated, s.leaf_fixups,
                s.threads_attached, s.threads_exited, s.attach_failures, s.table_bytes, s.open_fds,
                s.kernel_frames != 0, s.instructions_available != 0, UnwindStats.of(s), s.alloc_unprobed);
    }
}
