package dev.stackstream.profile.diff;

import dev.stackstream.profile.render.RenderOptions;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes a {@link Diff} in one output format, as {@code Renderer} does for a profile: one
 * implementation per format ({@link DiffSvgRenderer}, {@link DiffFoldedRenderer}). Implementations
 * are stateless and thread-safe.
 */
public interface DiffRenderer {

    /** The format name used by {@code format=}: {@code svg}, {@code collapsed}. */
    String format();

    /** HTTP content type of the output. */
    String mediaType();

    /** File name a command writes the output to. */
    String defaultFileName();

    /** Writes diff to out (flushed, not closed). */
    void render(Diff diff, RenderOptions options, OutputStream out) throws IOException;
}
