package dev.stackstream.collector.nativeapi;

import com.sun.jna.Structure;
import com.sun.jna.Structure.FieldOrder;

/**
 * JNA mirror of {@code struct ss_stats} (cumulative counters of a session). The uint64 fields are
 * read as Java longs; they never come near 2^63 in practice.
 */
@FieldOrder({"samples", "lost", "throttled", "table_overflow", "truncated", "leaf_fixups",
        "threads_attached", "threads_exited", "attach_failures", "table_bytes", "open_fds",
        "kernel_frames", "instructions_available", "reserved", "unwound", "cut_stack_copy",
        "cut_no_unwind_info", "cut_corrupt", "cfi_frames", "fp_frames", "unwind_modules", "unwind_no_cfi",
        "unwind_table_bytes", "unwind", "stack_bytes", "offcpu_intervals", "offcpu_unmatched", "unwind_tables",
        "unwind_evictions", "unwind_cache_bytes", "unwind_debug_frame_tables", "alloc_unprobed",
        "exec_loading"})
public final class SsStats extends Structure {
    public long samples;
    public long lost;
    public long throttled;
    public long table_overflow;
    public long truncated;
    public long leaf_fixups;
    public long threads_attached;
    public long threads_exited;
    public long attach_failures;
    public long table_bytes;
    public int open_fds;
    public int kernel_frames;
    public int instructions_available;
    public int reserved;
    public long unwound;
    public long cut_stack_copy;
    public long cut_no_unwind_info;
    public long cut_corrupt;
    public long cfi_frames;
    public long fp_frames;
    public long unwind_modules;
    public long unwind_no_cfi;
    public long unwind_table_bytes;
    public int unwind;
    public int stack_bytes;
    public long offcpu_intervals;
    public long offcpu_unmatched;
    public long unwind_tables;
    public long unwind_evictions;
    public long unwind_cache_bytes;
    public long unwind_debug_frame_tables;
    public long alloc_unprobed;
    public long exec_loading;
}
