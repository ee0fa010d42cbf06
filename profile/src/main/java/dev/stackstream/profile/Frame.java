package dev.stackstream.profile;

import java.util.Objects;

/**
 * One frame of a call stack, as symbolization left it.
 *
 * <p>A frame that could not be named keeps everything needed to name it later: the module's path,
 * its GNU build-id and the offset of the address inside the module. Nothing is ever guessed.
 *
 * @param function demangled function name, or {@code null} when unresolved
 * @param module path or name of the module (executable, shared library, {@code [kernel.kallsyms]},
 *     {@code [vdso]}, a perf map), or {@code null} when the address fell in no known mapping
 * @param buildId lower-case hex GNU build-id of the module, or {@code null}
 * @param offset offset of the address inside the module's file (or the raw address when the module
 *     is unknown); {@code -1} when not known (frames read back from collapsed text)
 * @param kind where the code lives
 * @param file source file, or {@code null}
 * @param line source line, or {@code 0} when not known
 */
public record Frame(String function, String module, String buildId, long offset, FrameKind kind,
                    String file, int line) {

    public Frame {
        Objects.requireNonNull(kind, "kind");
    }

    /** A named frame with nothing else known, as read from collapsed or perf-script text. */
    public static Frame named(String function, FrameKind kind) {
        return new Frame(Objects.requireNonNull(function, "function"), null, null, -1, kind, null, 0);
    }

    /** An unresolved frame: module (may be null) plus offset. */
    public static Frame unresolved(String module, String buildId, long offset, FrameKind kind) {
        return new Frame(null, module, buildId, offset, kind, null, 0);
    }

    public boolean isResolved() {
        return function != null;
    }

    /**
     * The name shown in flame graphs and reports: the function when known, else
     * {@code module-basename+0xoffset}, else {@code [unknown]+0xaddress}. Never empty, never
     * contains {@code ';'} or a newline (collapsed format separators).
     */
    public String displayName() {
        String name;
        if (function != null) {
            name = function;
        } else if (module != null) {
            name = baseName(module) + "+0x" + Long.toHexString(offset);
        } else {
            name = "[unknown]" + (offset >= 0 ? "+0x" + Long.toHexString(offset) : "");
        }
        return sanitize(name);
    }

    /** Last path element of a module path ({@code /usr/lib/libc.so.6} gives {@code libc.so.6}). */
    public static String baseName(String module) {
        int slash = module.lastIndexOf('/');
        return slash >= 0 && slash < module.length() - 1 ? module.substring(slash + 1) : module;
    }

    private static String sanitize(String name) {
        if (name.isEmpty()) {
            return "[empty]";
        }
        if (name.indexOf(';') < 0 && name.indexOf('\n') < 0 && name.indexOf('\r') < 0) {
            return name;
        }
        return name.replace(';', ':').replace('\n', ' ').replace('\r', ' ');
    }
}
