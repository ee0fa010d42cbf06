package dev.stackstream.collector;

import dev.stackstream.collector.sampling.NativeStats;
import dev.stackstream.collector.sampling.UnwindStats;
import java.util.Locale;

/**
 * The summary's "unwinding" block for a recording: how stacks were unwound, the stack bytes copied
 * per sample, and how many stacks were cut before their root and why (every cut stack carries the
 * root frame of its {@link dev.stackstream.collector.sampling.CutReason} in every output). Read from the sampler's own counters, which the
 * profile read back from Kafka does not carry.
 */
public final class UnwindReport {
    private UnwindReport() {
    }

    /** The block, in the summary's row layout, preceded by a blank line. */
    public static String text(NativeStats stats) {
        UnwindStats u = stats.unwind();
        StringBuilder b = new StringBuilder(512);
        b.append("\nunwinding\n");
        row(b, "unwinding", u.mode().name().toLowerCase(Locale.ROOT) + switch (u.mode()) {
            case AUTO -> " (CFI where a module has it, the frame pointer elsewhere)";
            case CFI -> " (CFI only)";
            case FP -> " (frame pointers and the leaf-caller fix-up)";
        });
        row(b, "stack copy", String.format(Locale.ROOT, "%,d bytes per sample", u.stackBytes()));
        long cut = u.cut() + stats.truncated();
        row(b, "stacks cut", String.format(Locale.ROOT, "%,d of %,d samples (%.2f %%)", cut, stats.samples(),
                stats.samples() == 0 ? 0.0 : 100.0 * cut / stats.samples()));
        row(b, "  copy too short", String.format(Locale.ROOT, "%,d", u.cutStackCopy()));
        row(b, "  no unwind info", String.format(Locale.ROOT, "%,d", u.cutNoUnwindInfo()));
        row(b, "  corrupt or loop", String.format(Locale.ROOT, "%,d", u.cutCorrupt()));
        row(b, "  max depth", String.format(Locale.ROOT, "%,d", stats.truncated()));
        row(b, "frames unwound", String.format(Locale.ROOT, "%,d by CFI, %,d by frame pointer", u.cfiFrames(),
                u.fpFrames()));
        row(b, "unwind tables", String.format(Locale.ROOT, "%,d held (%,d bytes of %,d), %,d compiled, %,d evicted,"
                        + " %,d modules without CFI, %,d from .debug_frame", u.tables(), u.tableBytes(),
                u.cacheCapBytes(), u.modules(), u.evictions(), u.modulesWithoutCfi(), u.debugFrameTables()));
        return b.toString();
    }

    private static void row(StringBuilder b, String name, String value) {
        b.append(String.format(Locale.ROOT, "  %-22s %s%n", name, value));
    }
}
