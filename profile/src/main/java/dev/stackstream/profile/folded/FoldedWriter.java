package dev.stackstream.profile.folded;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.folded.FoldedStacks;
import dev.stackstream.profile.render.RenderOptions;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Writes flamegraph.pl's collapsed format: one line per unique stack, frames root first joined by
 * {@code ;}, a space, the count; kernel frames suffixed {@code _[k]}, JIT frames {@code _[j]}.
 * Lines come in string order, so equal profiles give byte-identical files.
 */
public final class FoldedWriter {
    private FoldedWriter() {
    }

    /** Writes profile (threads merged) to out, which is flushed, not closed. */
    public static void write(Profile profile, OutputStream out) throws IOException {
        write(FoldedStacks.of(profile, RenderOptions.defaults()), out);
    }

    /** Writes already folded lines (stack text to count) in their map's iteration order. */
    public static void write(Map<String, Long> folded, OutputStream out) throws IOException {
        Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
        StringBuilder line = new StringBuilder(256);
        for (Map.Entry<String, Long> e : folded.entrySet()) {
            line.setLength(0);
            line.append(e.getKey()).append(' ').append(e.getValue()).append('\n');
            w.append(line);
        }
        w.flush();
    }
}
