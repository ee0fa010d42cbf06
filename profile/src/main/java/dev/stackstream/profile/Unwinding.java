package dev.stackstream.profile;

import java.util.Objects;

/**
 * How the sampler unwound a profile's stacks and how many of them it cut before their root, by
 * why. The four cut counts add up to {@link ProfileStats#truncatedStacks()} of the same profile;
 * every cut stack carries a {@code [truncated: ...]} root frame naming its reason, so the counts
 * can be checked against the stacks.
 *
 * @param method {@code auto} (CFI where a module has it, the frame pointer elsewhere), {@code fp},
 *     {@code cfi}, or {@value #MIXED} for a merge of profiles unwound differently
 * @param stackBytes user stack bytes copied per sample (the largest of a merge)
 * @param depthCuts samples cut at the depth limit
 * @param stackCopyCuts samples cut because the next frame lay beyond the stack bytes copied
 * @param noUnwindInfoCuts samples cut at a frame with neither CFI nor a usable frame pointer
 * @param corruptCuts samples cut at a return address that is not code, or a stack that does not grow
 */
public record Unwinding(String method, int stackBytes, long depthCuts, long stackCopyCuts,
                        long noUnwindInfoCuts, long corruptCuts) {
    /** The method of a merge of profiles unwound with different methods. */
    public static final String MIXED = "mixed";

    public Unwinding {
        Objects.requireNonNull(method, "method");
        if (stackBytes < 0 || depthCuts < 0 || stackCopyCuts < 0 || noUnwindInfoCuts < 0 || corruptCuts < 0) {
            throw new IllegalArgumentException("negative unwinding count: " + stackBytes + ", " + depthCuts + ", "
                    + stackCopyCuts + ", " + noUnwindInfoCuts + ", " + corruptCuts);
        }
    }

    /** All cut samples, whatever the reason. */
    public long cuts() {
        return depthCuts + stackCopyCuts + noUnwindInfoCuts + corruptCuts;
    }

    /** Counts add; the method is kept when both agree ({@value #MIXED} otherwise); the larger copy size. */
    public Unwinding plus(Unwinding o) {
        return new Unwinding(method.equals(o.method) ? method : MIXED, Math.max(stackBytes, o.stackBytes),
                depthCuts + o.depthCuts, stackCopyCuts + o.stackCopyCuts, noUnwindInfoCuts + o.noUnwindInfoCuts,
                corruptCuts + o.corruptCuts);
    }
}
