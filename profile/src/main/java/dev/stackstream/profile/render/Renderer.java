package dev.stackstream.profile.render;

import dev.stackstream.profile.Profile;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes a profile in one output format. One implementation per format; {@link Renderers} finds
 * them by name. Implementations are stateless and thread-safe.
 */
public interface Renderer {

    /** The name used by {@code format=} query parameters and {@code --format}: collapsed, json, svg, html, pprof, speedscope. */
    String format();

    /** HTTP content type of the output. */
    String mediaType();

    /** File name written by record/render, e.g. {@code flamegraph.svg}. */
    String defaultFileName();

    /** Writes profile to out (not closed). */
    void render(Profile profile, RenderOptions options, OutputStream out) throws IOException;
}
