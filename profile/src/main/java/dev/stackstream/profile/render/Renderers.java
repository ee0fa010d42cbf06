package dev.stackstream.profile.render;

import dev.stackstream.profile.folded.FoldedTextRenderer;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The registry of renderers: one per output format. */
public final class Renderers {
    private static final List<Renderer> ALL = List.of(
            new FoldedTextRenderer(),
            new JsonRenderer(),
            new SvgRenderer(),
            new HtmlRenderer(),
            new PprofRenderer(),
            new SpeedscopeRenderer());

    private Renderers() {
    }

    /**
     * The renderer for a format name (case-insensitive), e.g. {@code svg}; {@code folded} names
     * the {@code collapsed} format. Empty when unknown.
     */
    public static Optional<Renderer> byFormat(String format) {
        if (format == null) {
            return Optional.empty();
        }
        String f = format.trim().toLowerCase(Locale.ROOT);
        if (f.equals("folded")) {
            f = "collapsed"; // the same text format under its other common name
        }
        for (Renderer r : ALL) {
            if (r.format().equals(f)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /** Every renderer, in the order record writes them. */
    public static List<Renderer> all() {
        return ALL;
    }

    /** The format names, comma separated, for error messages and help. */
    public static String formatNames() {
        return String.join(", ", ALL.stream().map(Renderer::format).toList());
    }
}
