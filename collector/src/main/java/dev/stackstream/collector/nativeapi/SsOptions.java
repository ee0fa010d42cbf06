package dev.stackstream.collector.nativeapi;

import com.sun.jna.Structure;
import com.sun.jna.Structure.FieldOrder;

/**
 * JNA mirror of {@code struct ss_options} in {@code native/include/stackstream.h}. Field order,
 * names and widths follow the header exactly; JNA applies the platform's C alignment, which is
 * what lets {@code period} and {@code table_bytes} (int64) sit where the compiler put them.
 * Fill it with {@link StackstreamLibrary#ss_options_init} first so new native defaults apply.
 */
@FieldOrder({"target_kind", "pid", "cgroup_path", "event", "frequency_hz", "period", "kernel_mode",
        "per_thread", "follow_children", "max_depth", "ring_pages", "rescan_ms", "table_bytes", "unwind", "stack_bytes",
        "unwind_cache_bytes"})
public final class SsOptions extends Structure {
    public static final int TARGET_PID = 0;
    public static final int TARGET_CGROUP = 1;

    public int target_kind;
    public int pid;
    /** JNA keeps the native copy of this string alive as long as the structure. */
    public String cgroup_path;
    public int event;
    public int frequency_hz;
    public long period;
    public int kernel_mode;
    public int per_thread;
    public int follow_children;
    public int max_depth;
    public int ring_pages;
    public int rescan_ms;
    public long table_bytes;
    public int unwind;
    public int stack_bytes;
    public long unwind_cache_bytes;
}
