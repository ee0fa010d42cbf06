package dev.stackstream.profile.folded;

import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.profile.render.Renderer;

import java.io.IOException;
import java.io.OutputStream;
import java.util.SortedMap;

/**
 * A renderer that needs nothing but folded lines (stack text to count), so collapsed input can be
 * rendered without building the frame model first: {@code render} of a 100k-stack file spends
 * most of its time there otherwise. {@link Renderer#render} of such a renderer equals
 * {@code renderFolded(FoldedStacks.of(profile, options.withReversed(false)), options, out)}.
 */
public interface FoldedRenderer extends Renderer {

    /**
     * Writes folded lines (root first, string order, not reversed: the renderer applies
     * {@link RenderOptions#reversed()} itself) to out, which is flushed, not closed.
     */
    void renderFolded(SortedMap<String, Long> folded, RenderOptions options, OutputStream out) throws IOException;
}
