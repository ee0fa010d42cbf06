package dev.stackstream.profile.render;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The geometry of an SVG flame graph, ours or flamegraph.pl's, as comparable lines:
 * {@code title|x|y|width|height|label}, sorted (flamegraph.pl writes frames in hash order).
 */
final class SvgFrames {
    private static final Pattern FRAME = Pattern.compile(
            "<title>([^<]*)</title><rect x=\"([^\"]*)\" y=\"([^\"]*)\" width=\"([^\"]*)\" height=\"([^\"]*)\"[^>]*>\\s*"
                    + "<text[^>]*? x=\"([^\"]*)\" y=\"([^\"]*)\"[^>]*>([^<]*)</text>");
    private static final Pattern SIZE = Pattern.compile("<svg [^>]*width=\"(\\d+)\" height=\"(\\d+)\"");

    private SvgFrames() {
    }

    static List<String> extract(String svg) {
        List<String> out = new ArrayList<>();
        Matcher s = SIZE.matcher(svg);
        if (s.find()) {
            out.add("#size|" + s.group(1) + "|" + s.group(2));
        }
        Matcher m = FRAME.matcher(svg);
        while (m.find()) {
            out.add(m.group(1) + "|" + m.group(2) + "|" + m.group(3) + "|" + m.group(4) + "|" + m.group(5)
                    + "|" + m.group(6) + "|" + m.group(7) + "|" + m.group(8));
        }
        out.sort(null);
        return out;
    }
}
