package dev.stackstream.collector.sampling;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;

/**
 * Why a sampled stack does not reach its root ({@code enum ss_cut_reason} of the native core).
 * Each reason has the synthetic root frame that marks such a stack in every output, so a flame
 * graph shows the cut and its cause instead of presenting a partial stack as a whole one.
 */
public enum CutReason {
    /** The depth limit (max_depth, kernel.perf_event_max_stack) was reached. */
    DEPTH(1, "depth", "depth limit"),
    /** The next frame lies beyond the stack bytes copied with the sample. */
    STACK_COPY(2, "stack-copy", "stack copy too short"),
    /** A frame with neither CFI nor a usable frame pointer (or CFI-only mode). */
    NO_UNWIND_INFO(3, "no-unwind-info", "no unwind info"),
    /** A return address that is not code, or a stack that does not grow towards its root. */
    CORRUPT(4, "corrupt", "corrupt stack");

    private final int nativeValue;
    private final String label;
    private final Frame frame;

    CutReason(int nativeValue, String label, String description) {
        this.nativeValue = nativeValue;
        this.label = label;
        this.frame = Frame.named("[truncated: " + description + "]", FrameKind.USER);
    }

    /** The {@code ss_cut_reason} value. */
    public int nativeValue() {
        return nativeValue;
    }

    /** Short name, as in the {@code stackstream.collector.stacks.cut} metric's reason tag. */
    public String label() {
        return label;
    }

    /** The root frame put first on a stack cut for this reason. */
    public Frame frame() {
        return frame;
    }

    /**
     * The reason of a truncated stack record. A truncated record without a known reason (a native
     * core that reports none, or one newer than this binding) counts as the depth limit, the only
     * cut older cores made.
     */
    public static CutReason ofTruncated(int nativeValue) {
        for (CutReason r : values()) {
            if (r.nativeValue == nativeValue) {
                return r;
            }
        }
        return DEPTH;
    }
}
