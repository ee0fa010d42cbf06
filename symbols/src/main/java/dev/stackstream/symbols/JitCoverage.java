package dev.stackstream.symbols;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
import java.util.List;

/**
 * How many samples that landed in JIT code got a method name: the figure behind "JIT methods
 * named in at least 95 % of the samples in JIT code". A leaf is in JIT code when it is a
 * {@link FrameKind#JIT} frame (named or not: the process has a perf map) or anonymous executable
 * memory ({@code [anon]}, a JIT process without a usable map).
 *
 * @param jitLeaves samples (weighted by count) whose leaf is in JIT code
 * @param named of those, the ones whose leaf has a name
 */
public record JitCoverage(long jitLeaves, long named) {

    /** Fraction named, 0..1; 1 when no sample landed in JIT code. */
    public double namedFraction() {
        return jitLeaves == 0 ? 1.0 : (double) named / jitLeaves;
    }

    /** From symbolized stacks (root first), each counted once. */
    public static JitCoverage of(List<List<Frame>> stacks) {
        long jit = 0;
        long named = 0;
        for (List<Frame> s : stacks) {
            if (!s.isEmpty() && inJit(s.get(s.size() - 1))) {
                jit++;
                named += s.get(s.size() - 1).isResolved() ? 1 : 0;
            }
        }
        return new JitCoverage(jit, named);
    }

    /** From a profile, weighting each stack by its count. */
    public static JitCoverage of(Profile profile) {
        long jit = 0;
        long named = 0;
        for (Sample sample : profile.samples()) {
            Frame leaf = sample.stack().leaf();
            if (leaf != null && inJit(leaf)) {
                jit += sample.count();
                named += leaf.isResolved() ? sample.count() : 0;
            }
        }
        return new JitCoverage(jit, named);
    }

    private static boolean inJit(Frame f) {
        return f.kind() == FrameKind.JIT || (f.kind() == FrameKind.USER && "[anon]".equals(f.module()));
    }

    @Override
    public String toString() {
        return String.format("%d of %d samples in JIT code named (%.1f %%)", named, jitLeaves, 100 * namedFraction());
    }
}
