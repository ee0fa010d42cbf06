package dev.stackstream.collector.publish;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
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
 *
 * <p>A publisher reduces through one {@link Reuse}: a steady program's windows hold the same
 * stacks again and again, and the reduced stack of an earlier window (with its content hash,
 * {@link Stack#id()}, already computed) is handed out again instead of a new equal one whose
 * SHA-256 id would be computed anew in every window.
 */
final class FunctionLevel {

    private FunctionLevel() {
    }

    /**
     * Reductions remembered across windows: by the previous window's stack instances (the sampling
     * session hands out the same instance while a stack's symbols stay valid), and the reduced
     * stacks themselves by equality, the {@value #REMEMBERED} most recently used (a stack
     * symbolized again, or seen again a few windows later, gives an equal reduced stack). Memory
     * is bounded by that count plus one window's stacks. Not thread-safe: the publisher's lock
     * guards it.
     */
    static final class Reuse {
        static final int REMEMBERED = 4096;
        private Map<Stack, Stack> bySource = new IdentityHashMap<>();
        private final Map<Stack, Stack> recent = new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Stack, Stack> eldest) {
                return size() > REMEMBERED;
            }
        };

        /** {@link FunctionLevel#of(Profile)}, with the stacks of earlier windows reused. */
        Profile of(Profile window) {
            Map<Stack, Stack> sources = new IdentityHashMap<>();
            boolean changed = false;
            ProfileBuilder b = Profile.builder(window.type()).timeRange(window.start(), window.end())
                    .labels(window.labels()).stats(window.stats());
            for (Sample s : window.samples()) {
                Stack r = sources.get(s.stack());
                if (r == null) {
                    r = bySource.get(s.stack());
                    if (r == null) {
                        r = reduce(s.stack());
                    }
                    Stack known = recent.putIfAbsent(r, r);
                    r = known != null ? known : r;
                    sources.put(s.stack(), r);
                }
                changed |= r != s.stack();
                b.add(r, s.thread(), s.count(), s.instructions());
            }
            bySource = sources;
            return changed ? b.build() : window;
        }
    }

    /** The window with function-level stacks (the same instance when nothing changes). */
    static Profile of(Profile window) {
        return new Reuse().of(window);
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
