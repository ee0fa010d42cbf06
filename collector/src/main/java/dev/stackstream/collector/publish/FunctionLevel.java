package dev.stackstream.collector.publish;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.Stack;

/**
 * Reduces a window to function granularity before it goes on the wire: a frame that symbolization
 * named keeps function, module, build-id, kind and file:line but loses its instruction offset
 * (-1), and stacks that become equal are merged. Unresolved frames keep their offset: it is what
 * lets them be symbolized later.
 *
 * <p>Why: the symbolizer reports the exact instruction offset of every frame, so two samples in
 * the same functions at different instructions are different stacks. Keyed by content hash, the
 * stack dictionary would then grow with every distinct program counter and nearly every sample
 * would cost a 16-byte id plus a definition; measured on a Python workload at 999 Hz this made the
 * wire as large as gzipped pprof. Flame graphs, summaries and diffs are function-level, so
 * nothing they show changes. ({@link PublisherConfig#keepResolvedOffsets()} turns this off.)
 */
final class FunctionLevel {

    private FunctionLevel() {
    }

    static Profile of(Profile window) {
        Map<Stack, Stack> reduced = new HashMap<>();
        boolean changed = false;
        ProfileBuilder b = Profile.builder(window.type()).timeRange(window.start(), window.end())
                .labels(window.labels()).stats(window.stats());
        for (Sample s : window.samples()) {
            Stack r = reduced.computeIfAbsent(s.stack(), FunctionLevel::reduce);
            changed |= r != s.stack();
            b.add(r, s.thread(), s.count(), s.instructions());
        }
        return changed ? b.build() : window;
    }

    static Stack reduce(Stack stack) {
        List<Frame> frames = null;
        for (int i = 0; i < stack.depth(); i++) {
            Frame f = stack.frames().get(i);
            if (f.function() != null && f.offset() != -1) {
                if (frames == null) {
                    frames = new ArrayList<>(stack.frames());
                }
                frames.set(i, new Frame(f.function(), f.module(), f.buildId(), -1, f.kind(), f.file(), f.line()));
            }
        }
        return frames == null ? stack : new Stack(frames, stack.truncated());
    }
}
