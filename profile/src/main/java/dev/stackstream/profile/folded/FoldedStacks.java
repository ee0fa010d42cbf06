package dev.stackstream.profile.folded;

import dev.stackstream.profile.render.RenderOptions;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A profile as flamegraph.pl's "folded" lines: frame names root first joined by {@code ;}, with
 * kernel frames suffixed {@code _[k]} and JIT frames {@code _[j]}, equal lines summed, sorted by
 * string order (the order flamegraph.pl lays frames out in). Thread roots and reversal are applied
 * as {@link RenderOptions} ask.
 */
public final class FoldedStacks {
    private static final String KERNEL_SUFFIX = FrameKind.KERNEL.suffix();
    private static final String JIT_SUFFIX = FrameKind.JIT.suffix();

    private FoldedStacks() {
    }

    /** Folded lines of profile (stack text to summed count), sorted; zero counts dropped. */
    public static TreeMap<String, Long> of(Profile profile, RenderOptions options) {
        TreeMap<String, Long> out = new TreeMap<>();
        for (Sample s : profile.samples()) {
            if (s.count() == 0) {
                continue;
            }
            out.merge(line(s, options), s.count(), Long::sum);
        }
        return out;
    }

    /** The names of one sample's frames, root first, as {@link #of} joins them. */
    public static List<String> names(Sample sample, RenderOptions options) {
        List<Frame> frames = sample.stack().frames();
        List<String> names = new ArrayList<>(frames.size() + 1);
        for (Frame f : frames) {
            names.add(name(f));
        }
        if (options.reversed()) {
            Collections.reverse(names);
        }
        if (options.threads() && sample.thread() != null) {
            names.add(0, threadName(sample.thread()));
        }
        return names;
    }

    private static String line(Sample sample, RenderOptions options) {
        List<String> names = names(sample, options);
        if (names.isEmpty()) {
            return "[empty stack]";
        }
        return String.join(";", names);
    }

    /** A stack's folded text (root first, kind suffixes, no thread). */
    public static String text(dev.stackstream.profile.Stack stack) {
        StringBuilder b = new StringBuilder(stack.depth() * 24);
        for (Frame f : stack.frames()) {
            if (b.length() > 0) {
                b.append(';');
            }
            b.append(name(f));
        }
        return b.length() == 0 ? "[empty stack]" : b.toString();
    }

    /** A frame's folded name: its display name plus the kind suffix. */
    public static String name(Frame frame) {
        String name = frame.displayName();
        return switch (frame.kind()) {
            case KERNEL -> name.endsWith(KERNEL_SUFFIX) ? name : name + KERNEL_SUFFIX;
            case JIT -> name.endsWith(JIT_SUFFIX) ? name : name + JIT_SUFFIX;
            case USER -> name;
        };
    }

    /** Thread names may hold spaces or ';': make them a valid frame name. */
    static String threadName(String thread) {
        String t = thread.isEmpty() ? "[thread]" : thread;
        return t.replace(';', ':').replace('\n', ' ').replace('\r', ' ');
    }

    /** The kind a folded name's suffix says ({@link FrameKind#USER} without one). */
    public static FrameKind kindOf(String foldedName) {
        if (foldedName.endsWith(KERNEL_SUFFIX)) {
            return FrameKind.KERNEL;
        }
        if (foldedName.endsWith(JIT_SUFFIX)) {
            return FrameKind.JIT;
        }
        return FrameKind.USER;
    }

    /** A folded name without its kind suffix ({@code _[k]}, {@code _[j]}, {@code _[i]}, {@code _[w]}). */
    public static String stripSuffix(String foldedName) {
        int n = foldedName.length();
        if (n > 4 && foldedName.charAt(n - 4) == '_' && foldedName.charAt(n - 3) == '['
                && foldedName.charAt(n - 1) == ']' && "kjiw".indexOf(foldedName.charAt(n - 2)) >= 0) {
            return foldedName.substring(0, n - 4);
        }
        return foldedName;
    }

    /** The same lines with each stack's frames in reverse order (leaf first), re-sorted. */
    public static TreeMap<String, Long> reversed(Map<String, Long> folded) {
        TreeMap<String, Long> out = new TreeMap<>();
        for (Map.Entry<String, Long> e : folded.entrySet()) {
            String[] parts = e.getKey().split(";", -1);
            Collections.reverse(java.util.Arrays.asList(parts));
            out.merge(String.join(";", parts), e.getValue(), Long::sum);
        }
        return out;
    }

    /** Sum of the counts of folded lines. */
    public static long total(Map<String, Long> folded) {
        long t = 0;
        for (long c : folded.values()) {
            t += c;
        }
        return t;
    }
}
