package dev.stackstream.symbols;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The operator note for a JVM target: how its JIT frames are named and what full stacks need. */
final class JvmNotes {
    private static final String FLAG = "-XX:+PreserveFramePointer";

    private JvmNotes() {
    }

    static String preserveFramePointerNote(Path proc, int pid, boolean perfMaps) {
        String where = flagSource(proc, pid);
        String maps = perfMaps
                ? "JIT frames are named through its perf map, requested periodically through the JVM's"
                + " attach protocol (Compiler.perfmap, JDK 17+; no jcmd is run)"
                : "perf-map requests are switched off, so JIT frames are named only if the JVM writes "
                + "/tmp/perf-" + pid + ".map itself";
        String fp = where != null
                ? FLAG + " is set (" + where + "), so stacks walk through JIT code"
                : "full stacks through JIT code need " + FLAG + " (not seen on its command line or in "
                + "JAVA_TOOL_OPTIONS/JDK_JAVA_OPTIONS); without it stacks stop at the first JIT frame";
        return "JVM target pid " + pid + ": " + maps + "; " + fp + ".";
    }

    /** True when the JVM writes its own perf map at exit (-XX:+DumpPerfMapAtExit): that file is the user's. */
    static boolean writesPerfMapAtExit(Path proc, int pid) {
        try {
            return new String(Files.readAllBytes(proc.resolve(Integer.toString(pid)).resolve("cmdline")),
                    StandardCharsets.UTF_8).contains("-XX:+DumpPerfMapAtExit");
        } catch (IOException e) {
            return false;
        }
    }

    /** Where the flag was found (command line or an environment variable), or null. */
    private static String flagSource(Path proc, int pid) {
        Path dir = proc.resolve(Integer.toString(pid));
        try {
            String cmdline = new String(Files.readAllBytes(dir.resolve("cmdline")), StandardCharsets.UTF_8);
            if (cmdline.contains(FLAG)) {
                return "command line";
            }
        } catch (IOException e) {
            return null;
        }
        try {
            for (String var : new String(Files.readAllBytes(dir.resolve("environ")), StandardCharsets.UTF_8)
                    .split("\0")) {
                if ((var.startsWith("JAVA_TOOL_OPTIONS=") || var.startsWith("JDK_JAVA_OPTIONS=")
                        || var.startsWith("_JAVA_OPTIONS=")) && var.contains(FLAG)) {
                    return var.substring(0, var.indexOf('='));
                }
            }
        } catch (IOException e) {
            // environ needs ptrace access; absence just means "not seen"
        }
        return null;
    }
}
