package dev.stackstream.profile.diff;

import dev.stackstream.profile.render.RenderOptions;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A diff as difffolded.pl writes it, the input of {@code flamegraph.pl} for differential graphs:
 * one line per stack, {@code root;...;leaf baseline comparison}, in the diff's string order,
 * UTF-8, each line ending {@code \n}. The baseline column is normalised when the diff was built
 * with {@link RenderOptions#normalize()}; options are otherwise unused.
 */
public final class DiffFoldedRenderer implements DiffRenderer {

    @Override
    public String format() {
        return "collapsed";
    }

    @Override
    public String mediaType() {
        return "text/plain; charset=utf-8";
    }

    @Override
    public String defaultFileName() {
        return "diff.collapsed";
    }

    @Override
    public void render(Diff diff, RenderOptions options, OutputStream out) throws IOException {
        Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
        for (Map.Entry<String, long[]> e : diff.lines().entrySet()) {
            long[] counts = e.getValue();
            w.write(e.getKey());
            w.write(' ');
            w.write(Long.toString(counts[0]));
            w.write(' ');
            w.write(Long.toString(counts[1]));
            w.write('\n');
        }
        w.flush();
    }
}
