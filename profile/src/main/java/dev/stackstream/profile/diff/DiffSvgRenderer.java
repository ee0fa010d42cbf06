package dev.stackstream.profile.diff;

import dev.stackstream.profile.render.FlameSvg;
import dev.stackstream.profile.render.RenderOptions;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Differential flame graph (flamegraph.pl with two count columns): frame widths from the
 * comparison profile, leaf frames coloured by comparison minus baseline — red for growth, blue for
 * shrinkage, white for no change, saturating at the largest change; hover text adds the change in
 * percent of the comparison's total.
 */
public final class DiffSvgRenderer implements DiffRenderer {

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
        return "diff.svg";
    }

    /** Writes diff to out (flushed, not closed); title, sizes and layout come from options. */
    @Override
    public void render(Diff diff, RenderOptions options, OutputStream out) throws IOException {
        FlameSvg.write(FlameSvg.differentialLayout(diff.lines(), options), options, out);
    }
}
