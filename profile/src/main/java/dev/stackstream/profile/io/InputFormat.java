package dev.stackstream.profile.io;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.regex.Pattern;

/** The text formats {@code render} reads, and how to tell them apart. */
public enum InputFormat {
    /** flamegraph.pl's collapsed / folded lines. */
    COLLAPSED,
    /** {@code perf script} output. */
    PERF_SCRIPT;

    // an "address symbol (module)" frame line (usually indented) or a sample header ending in
    // "event:": collapsed lines end with a count, never with ")" or ":"
    private static final Pattern PERF_FRAME = Pattern.compile("^\\s*[0-9a-fA-F]+\\s+\\S.*\\(\\S*\\)\\s*$");
    private static final Pattern PERF_HEADER = Pattern.compile("^\\S.*?\\s+\\d+(/\\d+)?\\s.*?\\S+:\\s*$");

    /** Parses {@code collapsed}, {@code folded}, {@code perf-script}, {@code perf} (any case). */
    public static InputFormat parse(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "collapsed", "folded" -> COLLAPSED;
            case "perf-script", "perf", "perf_script" -> PERF_SCRIPT;
            default -> throw new IllegalArgumentException("unknown input format '" + s
                    + "' (expected collapsed or perf-script)");
        };
    }

    /**
     * Guesses a file's format from its first lines (gzip allowed): perf script has sample header
     * lines ending in {@code event:} followed by indented {@code address symbol (module)} lines;
     * anything else is read as collapsed (whose reader reports the first bad line).
     */
    public static InputFormat detect(Path file) throws IOException {
        try (BufferedReader in = InputFiles.open(file)) {
            String line;
            int seen = 0;
            while ((line = in.readLine()) != null && seen < 200) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                seen++;
                if (PERF_FRAME.matcher(line).matches() || PERF_HEADER.matcher(line).matches()) {
                    return PERF_SCRIPT;
                }
            }
        }
        return COLLAPSED;
    }
}
