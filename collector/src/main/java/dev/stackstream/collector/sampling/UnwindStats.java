package dev.stackstream.collector.sampling;

import dev.stackstream.collector.nativeapi.SsStats;

/**
 * Cumulative unwinding counters of a session ({@code struct ss_stats}, unwind fields).
 *
 * @param mode the unwinding in effect
 * @param stackBytes user-stack bytes copied per sample
 * @param unwound samples whose user stack was unwound from the stack copy (not FP mode)
 * @param cutStackCopy stacks cut because the next frame lay beyond the copy
 * @param cutNoUnwindInfo stacks cut at a frame with neither CFI nor a usable frame pointer
 * @param cutCorrupt stacks cut at a return address that is not code, or a stack not growing up
 * @param cfiFrames frames unwound by CFI
 * @param fpFrames frames unwound by the frame pointer (code without CFI)
 * @param modules unwind tables compiled (a module evicted and needed again counts again)
 * @param modulesWithoutCfi modules without usable CFI (no .eh_frame, unreadable, over the cap)
 * @param tableBytes memory the compiled unwind tables hold now
 * @param tables compiled tables held now (one per module, keyed by build-id)
 * @param evictions tables evicted, least recently used first, to stay under the cap
 * @param cacheCapBytes the cap on the tables' memory
 * @param debugFrameTables tables compiled from {@code .debug_frame} (the module's or its debug file's)
 */
public record UnwindStats(SamplingOptions.Unwind mode, int stackBytes, long unwound, long cutStackCopy,
                          long cutNoUnwindInfo, long cutCorrupt, long cfiFrames, long fpFrames, long modules,
                          long modulesWithoutCfi, long tableBytes, long tables, long evictions, long cacheCapBytes,
                          long debugFrameTables) {

    /** Nothing read yet. */
    public static final UnwindStats ZERO = new UnwindStats(SamplingOptions.Unwind.AUTO, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0);

    static UnwindStats of(SsStats s) {
        SamplingOptions.Unwind mode = SamplingOptions.Unwind.values()[Math.max(0, Math.min(2, s.unwind))];
        return new UnwindStats(mode, s.stack_bytes, s.unwound, s.cut_stack_copy, s.cut_no_unwind_info, s.cut_corrupt,
                s.cfi_frames, s.fp_frames, s.unwind_modules, s.unwind_no_cfi, s.unwind_table_bytes, s.unwind_tables,
                s.unwind_evictions, s.unwind_cache_bytes, s.unwind_debug_frame_tables);
    }

    /** Stacks whose unwinding stopped before the root (the depth limit not included). */
    public long cut() {
        return cutStackCopy + cutNoUnwindInfo + cutCorrupt;
    }
}
