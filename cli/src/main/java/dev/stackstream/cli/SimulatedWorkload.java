package dev.stackstream.cli;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The windows {@code simulate} publishes: K stacks shaped like a real call tree, the same for
 * every pod of a run and fully determined by the seed.
 *
 * <p>Shape: every stack starts at {@code main}; stack 0 ({@code main;serve;handle_request;
 * compute;hot_loop}) carries 70 % of the samples, as one hot path does in a real service. The
 * other K-1 stacks are paths of depth 3 to 14 through a tree of shared functions (a few choices
 * per level, so stacks share prefixes the way callers do) ending in a leaf of their own, and
 * split the remaining 30 % with Zipf-like weights (the i-th gets a share proportional to 1/i).
 *
 * <p>A window of {@code seconds} at {@code rateHz} holds {@code round(rateHz * seconds)} samples,
 * split by the largest-remainder method, so every window's total is exact and reproducible.
 */
final class SimulatedWorkload {
    /** Share of the samples on the hot path. */
    static final double HOT_SHARE = 0.70;
    private static final String MODULE = "/usr/bin/simulated-service";
    /** Threads the stacks run in: a stack always runs in the same one, so a window has K entries. */
    private static final int THREADS = 4;

    private final List<Stack> stacks;
    private final double[] weights;
    private final ProfileType type;

    SimulatedWorkload(int stackCount, int rateHz, long seed) {
        if (stackCount < 1) {
            throw new IllegalArgumentException("at least one stack is needed, got " + stackCount);
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<Stack> out = new ArrayList<>(stackCount);
        out.add(Stack.of(frame("main"), frame("serve"), frame("handle_request"), frame("compute"), frame("hot_loop")));
        for (int i = 1; i < stackCount; i++) {
            int depth = 2 + random.nextInt(12);
            List<Frame> frames = new ArrayList<>(depth + 1);
            frames.add(frame("main"));
            for (int d = 1; d < depth; d++) {
                // Few choices near the root, more further down: wide at the leaves like real trees.
                frames.add(frame("fn_" + d + "_" + random.nextInt(Math.min(2 + d, 8))));
            }
            frames.add(frame("leaf_" + i));
            out.add(new Stack(frames, false));
        }
        this.stacks = List.copyOf(out);
        this.weights = new double[stackCount];
        double harmonic = 0;
        for (int i = 1; i < stackCount; i++) {
            harmonic += 1.0 / i;
        }
        weights[0] = stackCount == 1 ? 1.0 : HOT_SHARE;
        for (int i = 1; i < stackCount; i++) {
            weights[i] = (1 - HOT_SHARE) / i / harmonic;
        }
        this.type = ProfileType.cpu(rateHz);
    }

    private static Frame frame(String function) {
        return new Frame(function, MODULE, null, -1, FrameKind.USER, null, 0);
    }

    List<Stack> stacks() {
        return stacks;
    }

    /** Samples per stack in a window of {@code total} samples (largest remainder; sums to total). */
    long[] split(long total) {
        long[] counts = new long[weights.length];
        double[] remainders = new double[weights.length];
        long given = 0;
        for (int i = 0; i < weights.length; i++) {
            double exact = total * weights[i];
            counts[i] = (long) Math.floor(exact);
            remainders[i] = exact - counts[i];
            given += counts[i];
        }
        for (long left = total - given; left > 0; left--) {
            int best = 0;
            for (int i = 1; i < remainders.length; i++) {
                if (remainders[i] > remainders[best]) {
                    best = i;
                }
            }
            counts[best]++;
            remainders[best] = -1;
        }
        return counts;
    }

    /** One pod's window [start, end) holding {@code total} samples. */
    Profile window(Instant start, Instant end, long total) {
        long[] counts = split(total);
        ProfileBuilder b = Profile.builder(type).timeRange(start, end);
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] > 0) {
                b.add(stacks.get(i), "worker-" + (i % THREADS), counts[i]);
            }
        }
        return b.build();
    }
}
