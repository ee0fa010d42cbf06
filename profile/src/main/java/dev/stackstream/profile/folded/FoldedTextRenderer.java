package dev.stackstream.profile.folded;

import dev.stackstream.profile.render.RenderOptions;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.folded.FoldedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.util.SortedMap;

/** flamegraph.pl's collapsed ("folded") text: {@code root;...;leaf count} per line, sorted. */
public final class FoldedTextRenderer implements FoldedRenderer {

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
        return "profile.collapsed";
    }

    @Override
    public void render(Profile profile, RenderOptions options, OutputStream out) throws IOException {
        FoldedWriter.write(FoldedStacks.of(profile, options), out);
    }

    @Override
    public void renderFolded(SortedMap<String, Long> folded, RenderOptions options, OutputStream out)
            throws IOException {
        FoldedWriter.write(options.reversed() ? FoldedStacks.reversed(folded) : folded, out);
    }
}
