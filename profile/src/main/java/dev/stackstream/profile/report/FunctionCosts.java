package dev.stackstream.profile.report;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.Stack;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Samples per function: where it is the leaf (self) and where it is anywhere on the stack (total,
 * counted once per stack however often a recursive function appears). The one place both numbers
 * are computed: the summary report names frames as the flame graph does, the aggregator's
 * function metrics with a normalised name (so several frames may count as one function). Sums
 * saturate at {@link Long#MAX_VALUE} (the aggregator's counts do, and hostile windows can claim
 * 2^62 samples). Not thread-safe.
 */
public final class FunctionCosts {
    private final Function<Frame, String> naming;
    private final Map<String, Long> self = new HashMap<>();
    private final Map<String, Long> total = new HashMap<>();
    private final Set<String> seen = new HashSet<>();
    private long samples;

    /** @param naming the function a frame counts for */
    public FunctionCosts(Function<Frame, String> naming) {
        this.naming = Objects.requireNonNull(naming, "naming");
    }

    /** Adds count samples of stack (an empty stack or a zero count adds nothing). */
    public void add(Stack stack, long count) {
        List<Frame> frames = stack.frames();
        if (frames.isEmpty() || count == 0) {
            return;
        }
        samples = plus(samples, count);
        self.merge(naming.apply(stack.leaf()), count, FunctionCosts::plus);
        seen.clear();
        for (Frame f : frames) {
            String n = naming.apply(f);
            if (seen.add(n)) {
                total.merge(n, count, FunctionCosts::plus);
            }
        }
    }

    private static long plus(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    /** Samples of the non-empty stacks added. */
    public long samples() {
        return samples;
    }

    /** Function to samples where it is the leaf; only functions that were a leaf. */
    public Map<String, Long> self() {
        return self;
    }

    /** Function to samples whose stack holds it; every function seen. */
    public Map<String, Long> total() {
        return total;
    }
}
