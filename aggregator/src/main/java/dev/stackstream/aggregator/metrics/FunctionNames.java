package dev.stackstream.aggregator.metrics;

import dev.stackstream.profile.Frame;
import java.util.regex.Pattern;

/**
 * The {@code function} label of the function metrics: a frame's name with everything that varies
 * per process, build or load address taken out, so one function is one series across restarts and
 * pods, and no label value grows without bound.
 *
 * <ul>
 *   <li>an unresolved frame counts for its module ({@code libc.so.6+0x1a2b} is {@code libc.so.6}),
 *       or {@code [unknown]} without one: offsets differ per sample, the module does not;</li>
 *   <li>offsets ({@code foo+0x12}) are cut and other hexadecimal addresses ({@code 0x7f3a...})
 *       become {@code 0x…}; runs of 16 or more hex digits (stack ids, build ids, as in
 *       {@code [unknown stack 5f0e...]}) become {@code …};</li>
 *   <li>control characters become spaces, and a name is at most {@value #MAX_LENGTH} characters
 *       (cut with {@code …}): C++ template names can run to kilobytes;</li>
 *   <li>the kind's suffix ({@code _[k]} kernel, {@code _[j]} JIT) is kept, as in the flame graph.</li>
 * </ul>
 */
public final class FunctionNames {
    /** Longest label value, suffix included. */
    public static final int MAX_LENGTH = 160;

    private static final Pattern OFFSET = Pattern.compile("\\+0x[0-9a-fA-F]+");
    private static final Pattern ADDRESS = Pattern.compile("0x[0-9a-fA-F]+");
    private static final Pattern HEX_ID = Pattern.compile("\\b[0-9a-fA-F]{16,}\\b");
    private static final Pattern CONTROL = Pattern.compile("\\p{Cntrl}");

    private FunctionNames() {
    }

    /** The function frame counts for in the metrics. */
    public static String of(Frame frame) {
        String name = frame.isResolved() ? frame.function()
                : frame.module() != null ? Frame.baseName(frame.module()) : "[unknown]";
        name = OFFSET.matcher(name).replaceAll("");
        name = ADDRESS.matcher(name).replaceAll("0x…");
        name = HEX_ID.matcher(name).replaceAll("…");
        name = CONTROL.matcher(name).replaceAll(" ").strip();
        if (name.isEmpty()) {
            name = "[empty]";
        }
        String suffix = frame.kind().suffix();
        int room = MAX_LENGTH - suffix.length();
        if (name.codePointCount(0, name.length()) > room) {
            name = name.substring(0, name.offsetByCodePoints(0, room - 1)) + "…";
        }
        return name.endsWith(suffix) ? name : name + suffix;
    }
}
