package dev.stackstream.profile.render;

import dev.stackstream.profile.folded.FoldedStacks;
import dev.stackstream.profile.folded.FoldedRenderer;

import dev.stackstream.profile.Profile;
import java.io.IOException;
import java.io.OutputStream;
import java.util.SortedMap;

/**
 * Interactive SVG flame graph at flamegraph.pl parity: same frames and widths for the same folded
 * input, title/subtitle, width, frame height, minimum width, hover details (name, samples,
 * percentage), click to zoom and Reset Zoom, Ctrl-F search with the matched percentage, palettes,
 * icicle layout. Deterministic: colours come from frame names, nothing random or time-stamped.
 */
public final class SvgRenderer implements FoldedRenderer {

    @Override
    public String format() {
        return "svg";
    }

    @Override
    public String mediaType() {
        return "image/svg+xml";
    }

    @Override
    public String defaultFileName() {
        return "flamegraph.svg";
    }

    @Override
    public void render(Profile profile, RenderOptions options, OutputStream out) throws IOException {
        FlameSvg.write(FlameSvg.layout(FoldedStacks.of(profile, options), options), options, out);
    }

    @Override
    public void renderFolded(SortedMap<String, Long> folded, RenderOptions options, OutputStream out)
            throws IOException {
        SortedMap<String, Long> lines = options.reversed() ? FoldedStacks.reversed(folded) : folded;
        FlameSvg.write(FlameSvg.layout(lines, options), options, out);
    }
}
