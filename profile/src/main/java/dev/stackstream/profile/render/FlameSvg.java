package dev.stackstream.profile.render;

import dev.stackstream.profile.folded.FoldedStacks;

import dev.stackstream.profile.folded.FoldedLines;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;

/**
 * Writes a {@link FlameLayout} as an interactive SVG with flamegraph.pl's geometry: 10 px side
 * padding, title band of 3 font sizes (plus 2 for a subtitle), a bottom band of 2 font sizes + 10 px
 * for the details line, frames of (frameHeight - 1) px stacked frameHeight px apart, x and width
 * rounded to 0.1 px the way Perl's printf rounds, frames narrower than the minimum width left out.
 * Used by the flame graph and the differential flame graph renderers.
 */
public final class FlameSvg {
    static final int FONT_SIZE = 12;
    static final double FONT_WIDTH = 0.59;
    static final int XPAD = 10;
    static final int YPAD_TOP = FONT_SIZE * 3;
    static final int YPAD_BOTTOM = FONT_SIZE * 2 + 10;
    static final int YPAD_SUBTITLE = FONT_SIZE * 2;
    static final int FRAME_PAD = 1;
    private static final String FONT = "Verdana, DejaVu Sans, sans-serif";
    private static final String SCRIPT = loadScript();

    private FlameSvg() {
    }

    private static String loadScript() {
        try (InputStream in = FlameSvg.class.getResourceAsStream("flamegraph-svg.js")) {
            if (in == null) {
                throw new IllegalStateException("flamegraph-svg.js missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The layout of folded lines for these options, frames under the minimum width pruned. */
    public static FlameLayout layout(java.util.SortedMap<String, Long> folded, RenderOptions o) {
        FoldedLines lines = FoldedLines.of(folded);
        return FlameLayout.of(lines, minCount(lines.total(), o));
    }

    /** The layout of a differential graph for these options, frames under the minimum width pruned. */
    public static FlameLayout differentialLayout(java.util.SortedMap<String, long[]> lines, RenderOptions o) {
        long total = 0;
        for (long[] v : lines.values()) {
            total += v[1];
        }
        return FlameLayout.differential(lines, minCount(total, o));
    }

    // flamegraph.pl's minwidth_time: the minimum width in count units
    private static double minCount(long total, RenderOptions o) {
        double widthPerTime = (o.width() - 2.0 * XPAD) / Math.max(total, 1);
        return o.minWidth() / widthPerTime;
    }

    /** Writes the graph; out is flushed, not closed. */
    public static void write(FlameLayout layout, RenderOptions o, OutputStream out) throws IOException {
        Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
        int width = o.width();
        int fh = o.frameHeight();
        long timemax = Math.max(layout.total(), 1);
        double widthPerTime = (width - 2.0 * XPAD) / timemax;
        double minWidthTime = o.minWidth() / widthPerTime;
        boolean subtitle = o.subtitle() != null && !o.subtitle().isEmpty();
        int depthMax = 0;
        for (int i = 0; i < layout.size(); i++) {
            if (layout.width(i) >= minWidthTime || i == 0) {
                depthMax = Math.max(depthMax, layout.depth(i));
            }
        }
        int height = (depthMax + 1) * fh + YPAD_TOP + YPAD_BOTTOM + (subtitle ? YPAD_SUBTITLE : 0);
        String title = o.title();
        if (o.inverted() && title.equals(RenderOptions.defaults().title())) {
            title = "Icicle Graph";
        }
        String[] background = background(o.palette(), layout.isDifferential());

        w.write("<?xml version=\"1.0\" standalone=\"no\"?>\n");
        w.write("<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n");
        w.write("<svg version=\"1.1\" width=\"" + width + "\" height=\"" + height + "\" viewBox=\"0 0 " + width + " "
                + height + "\" xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\""
                + " data-xpad=\"" + XPAD + "\" data-fontsize=\"" + FONT_SIZE + "\" data-fontwidth=\"" + FONT_WIDTH
                + "\" data-inverted=\"" + o.inverted() + "\" data-nametype=\"Function:\" data-searchcolor=\""
                + FrameColors.SEARCH + "\">\n");
        w.write("<!-- stackstream flame graph; hover for details, click to zoom, Ctrl-F to search -->\n");
        w.write("<defs>\n<linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">\n"
                + "<stop stop-color=\"" + background[0] + "\" offset=\"5%\"/>\n<stop stop-color=\"" + background[1]
                + "\" offset=\"95%\"/>\n</linearGradient>\n</defs>\n");
        w.write("<style type=\"text/css\">\ntext { font-family:" + FONT + "; font-size:" + FONT_SIZE
                + "px; fill:rgb(0,0,0); }\n#title { text-anchor:middle; font-size:" + (FONT_SIZE + 5) + "px; }\n"
                + "#subtitle { text-anchor:middle; fill:rgb(160,160,160); }\n"
                + "#search, #unzoom { cursor:pointer; }\n#frames > g:hover { stroke:black; stroke-width:0.5; cursor:pointer; }\n"
                + "</style>\n");
        w.write("<rect x=\"0.0\" y=\"0\" width=\"" + width + ".0\" height=\"" + height
                + ".0\" fill=\"url(#background)\"/>\n");
        w.write("<text id=\"title\" x=\"" + (width / 2) + "\" y=\"" + (FONT_SIZE * 2) + "\">" + escape(title) + "</text>\n");
        if (subtitle) {
            w.write("<text id=\"subtitle\" x=\"" + (width / 2) + "\" y=\"" + (FONT_SIZE * 4) + "\">"
                    + escape(o.subtitle()) + "</text>\n");
        }
        w.write("<text id=\"details\" x=\"" + XPAD + "\" y=\"" + num(height - YPAD_BOTTOM / 2.0) + "\"> </text>\n");
        w.write("<text id=\"unzoom\" x=\"" + XPAD + "\" y=\"" + (FONT_SIZE * 2) + "\" style=\"opacity:0\">Reset Zoom</text>\n");
        w.write("<text id=\"search\" x=\"" + (width - XPAD - 100) + "\" y=\"" + (FONT_SIZE * 2)
                + "\" style=\"opacity:0.1\">Search</text>\n");
        w.write("<text id=\"matched\" x=\"" + (width - XPAD - 100) + "\" y=\"" + num(height - YPAD_BOTTOM / 2.0)
                + "\"> </text>\n");
        w.write("<g id=\"frames\">\n");
        StringBuilder b = new StringBuilder(512);
        String countName = escape(o.countName());
        int top = YPAD_TOP + (subtitle ? YPAD_SUBTITLE : 0);
        for (int i = 0; i < layout.size(); i++) {
            long span = layout.width(i);
            boolean rootFrame = i == 0;
            if (!rootFrame && span < minWidthTime) {
                continue;
            }
            int depth = layout.depth(i);
            double x1 = XPAD + layout.start(i) * widthPerTime;
            double x2 = XPAD + (rootFrame ? timemax : layout.end(i)) * widthPerTime;
            int y1;
            int y2;
            if (o.inverted()) {
                y1 = top + depth * fh;
                y2 = top + (depth + 1) * fh - FRAME_PAD;
            } else {
                y1 = height - YPAD_BOTTOM - (depth + 1) * fh + FRAME_PAD;
                y2 = height - YPAD_BOTTOM - depth * fh;
            }
            String name = rootFrame ? "all" : FoldedStacks.stripSuffix(layout.name(i));
            String info = info(layout, i, name, span, timemax, countName);
            String fill = layout.isDifferential() ? FrameColors.diff(layout.delta(i), layout.maxDelta())
                    : FrameColors.color(o.palette(), layout.name(i));
            String xs = fixed(x1, 1);
            String x2s = fixed(x2, 1);
            String ws = fixed(Double.parseDouble(x2s) - Double.parseDouble(xs), 1);
            b.setLength(0);
            b.append("<g class=\"f\"><title>").append(info).append("</title><rect x=\"").append(xs)
                    .append("\" y=\"").append(y1).append("\" width=\"").append(ws).append("\" height=\"")
                    .append(fixed(y2 - y1, 1)).append("\" fill=\"").append(fill).append("\" rx=\"2\" ry=\"2\"/>")
                    .append("<text x=\"").append(fixed(x1 + 3, 2)).append("\" y=\"").append(num(3 + (y1 + y2) / 2.0))
                    .append("\">").append(rootFrame ? "" : escape(label(name, x2 - x1))).append("</text></g>\n");
            w.append(b);
        }
        w.write("</g>\n<script type=\"text/ecmascript\"><![CDATA[\n");
        w.write(SCRIPT);
        w.write("]]></script>\n</svg>\n");
        w.flush();
    }

    private static String info(FlameLayout layout, int i, String name, long span, long timemax, String countName) {
        String samples = grouped(span);
        if (i == 0) {
            return "all (" + samples + " " + countName + ", 100%)";
        }
        String pct = fixed(100.0 * span / timemax, 2);
        String text = escape(name) + " (" + samples + " " + countName + ", " + pct + "%";
        if (layout.isDifferential()) {
            long d = layout.delta(i);
            String dp = fixed(100.0 * d / timemax, 2);
            text += "; " + (d > 0 ? "+" + dp : dp) + "%";
        }
        return text + ")";
    }

    /** The frame label flamegraph.pl prints: as many characters as fit, ".." marking a cut. */
    static String label(String name, double width) {
        int chars = (int) (width / (FONT_SIZE * FONT_WIDTH));
        if (chars < 3) {
            return "";
        }
        if (chars >= name.length()) {
            return name;
        }
        return name.substring(0, chars - 2) + "..";
    }

    private static String[] background(Palette p, boolean differential) {
        if (differential) {
            return new String[] {"#eeeeee", "#eeeeb0"};
        }
        return switch (p) {
            case MEM -> new String[] {"#eeeeee", "#e0e0ff"};
            case IO -> new String[] {"#f8f8f8", "#e8e8e8"};
            default -> new String[] {"#eeeeee", "#eeeeb0"};
        };
    }

    /**
     * printf("%.Nf") as C (and so Perl) does it: the exact binary value rounded, ties to even.
     * Java's Formatter rounds the decimal string half-up, which differs on exact binary ties such
     * as 0.25; those ties are common here because widths are sums of multiples of 1/2^k.
     */
    static String fixed(double v, int scale) {
        long p = scale == 1 ? 10 : scale == 2 ? 100 : (long) Math.pow(10, scale);
        double t = Math.abs(v) * p;
        double floor = Math.floor(t);
        double frac = t - floor;
        if (t >= 1e15 || Math.abs(frac - 0.5) < 1e-6) {
            // at (or too near to tell) a tie: decide on the exact binary value
            return new BigDecimal(v).setScale(scale, RoundingMode.HALF_EVEN).toPlainString();
        }
        long units = (long) floor + (frac > 0.5 ? 1 : 0);
        StringBuilder b = new StringBuilder(24);
        if (v < 0) {
            b.append('-'); // also when it rounds to zero: C (and so Perl) prints -0.00
        }
        String digits = Long.toString(units);
        if (digits.length() <= scale) {
            digits = "0".repeat(scale - digits.length() + 1) + digits;
        }
        b.append(digits, 0, digits.length() - scale).append('.').append(digits, digits.length() - scale, digits.length());
        return b.toString();
    }

    /** n with thousands separators, as flamegraph.pl prints sample counts. */
    static String grouped(long n) {
        String d = Long.toString(Math.abs(n));
        StringBuilder b = new StringBuilder(d.length() + d.length() / 3 + 1);
        if (n < 0) {
            b.append('-');
        }
        int first = d.length() % 3 == 0 ? 3 : d.length() % 3;
        b.append(d, 0, first);
        for (int i = first; i < d.length(); i += 3) {
            b.append(',').append(d, i, i + 3);
        }
        return b.toString();
    }

    /** A number as Perl prints it in string context, for the half-pixel values used here. */
    static String num(double v) {
        if (v == Math.rint(v)) {
            return Long.toString((long) v);
        }
        return Double.toString(v);
    }

    static String escape(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String rep = switch (c) {
                case '&' -> "&amp;";
                case '<' -> "&lt;";
                case '>' -> "&gt;";
                case '"' -> "&quot;";
                default -> c < 0x20 && c != '\t' ? " " : null;
            };
            if (rep != null) {
                if (b == null) {
                    b = new StringBuilder(s.length() + 16).append(s, 0, i);
                }
                b.append(rep);
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }
}
