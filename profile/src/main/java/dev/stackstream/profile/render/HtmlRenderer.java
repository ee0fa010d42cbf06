package dev.stackstream.profile.render;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import dev.stackstream.profile.Profile;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;

/**
 * A single self-contained HTML file (no network access) with an interactive canvas flame graph:
 * search with matched percentage, click to zoom, icicle and reversed (callers) views, a sortable
 * top-functions table (self / total) and a sandwich view of one function (its callers and callees).
 * Frames narrower than a third of a pixel are culled with their subtrees, so graphs with 100k+
 * frames stay smooth. The profile travels as compact JSON (a name table plus stacks as name
 * indexes); output is deterministic.
 */
public final class HtmlRenderer implements FoldedRenderer {
    private static final String TEMPLATE = resource("flamegraph.html");
    private static final String SCRIPT = resource("flamegraph-html.js");
    private static final JsonFactory FACTORY = new JsonFactory();

    @Override
    public String format() {
        return "html";
    }

    @Override
    public String mediaType() {
        return "text/html; charset=utf-8";
    }

    @Override
    public String defaultFileName() {
        return "flamegraph.html";
    }

    @Override
    public void render(Profile profile, RenderOptions options, OutputStream out) throws IOException {
        renderFolded(FoldedStacks.of(profile, options.withReversed(false)), options, out);
    }

    @Override
    public void renderFolded(SortedMap<String, Long> folded, RenderOptions options, OutputStream out)
            throws IOException {
        String title = FlameSvg.escape(options.title());
        String subtitle = options.subtitle() == null ? "" : FlameSvg.escape(options.subtitle());
        int data = TEMPLATE.indexOf("%%DATA%%");
        int script = TEMPLATE.indexOf("%%SCRIPT%%");
        out.write(TEMPLATE.substring(0, data).replace("%%TITLE%%", title).replace("%%SUBTITLE%%", subtitle)
                .getBytes(StandardCharsets.UTF_8));
        writeData(folded, options, out);
        out.write(TEMPLATE.substring(data + "%%DATA%%".length(), script).getBytes(StandardCharsets.UTF_8));
        out.write(SCRIPT.getBytes(StandardCharsets.UTF_8));
        out.write(TEMPLATE.substring(script + "%%SCRIPT%%".length()).getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void writeData(SortedMap<String, Long> folded, RenderOptions options, OutputStream out)
            throws IOException {
        Map<String, Integer> ids = new HashMap<>();
        List<String> names = new java.util.ArrayList<>();
        try (JsonGenerator g = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.setCharacterEscapes(new ScriptSafe());
            g.writeStartObject();
            g.writeStringField("palette", options.palette().name().toLowerCase(Locale.ROOT));
            g.writeStringField("countName", options.countName());
            g.writeNumberField("frameHeight", options.frameHeight());
            g.writeBooleanField("inverted", options.inverted());
            g.writeBooleanField("reversed", options.reversed());
            // stacks come sorted, so each shares a prefix with the previous one: write how many
            // leading frames it shares ("shared") and only the rest ("frames")
            int n = folded.size();
            int[] lengths = new int[n];
            int[] shared = new int[n];
            int[] prevFrom = new int[64];
            int[] prevTo = new int[64];
            int prevDepth = 0;
            String prev = "";
            int[] from = new int[64];
            int[] to = new int[64];
            g.writeArrayFieldStart("frames");
            int s = 0;
            for (String stack : folded.keySet()) {
                int depth = 0;
                int at = 0;
                while (true) {
                    int semi = stack.indexOf(';', at);
                    if (depth == from.length) {
                        from = java.util.Arrays.copyOf(from, depth * 2);
                        to = java.util.Arrays.copyOf(to, depth * 2);
                    }
                    from[depth] = at;
                    to[depth] = semi < 0 ? stack.length() : semi;
                    depth++;
                    if (semi < 0) {
                        break;
                    }
                    at = semi + 1;
                }
                int same = 0;
                while (same < depth && same < prevDepth && to[same] - from[same] == prevTo[same] - prevFrom[same]
                        && stack.regionMatches(from[same], prev, prevFrom[same], to[same] - from[same])) {
                    same++;
                }
                for (int k = same; k < depth; k++) {
                    String name = stack.substring(from[k], to[k]);
                    Integer id = ids.get(name);
                    if (id == null) {
                        id = names.size();
                        ids.put(name, id);
                        names.add(name);
                    }
                    g.writeNumber(id);
                }
                lengths[s] = depth;
                shared[s++] = same;
                int[] t = prevFrom;
                prevFrom = from;
                from = t.length >= prevFrom.length ? t : java.util.Arrays.copyOf(t, prevFrom.length);
                t = prevTo;
                prevTo = to;
                to = t.length >= prevTo.length ? t : java.util.Arrays.copyOf(t, prevTo.length);
                prevDepth = depth;
                prev = stack;
            }
            g.writeEndArray();
            g.writeArrayFieldStart("lengths");
            for (int len : lengths) {
                g.writeNumber(len);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("shared");
            for (int len : shared) {
                g.writeNumber(len);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("counts");
            for (long c : folded.values()) {
                g.writeNumber(c);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("names");
            for (String name : names) {
                g.writeString(name);
            }
            g.writeEndArray();
            g.writeEndObject();
        }
    }

    private static String resource(String name) {
        try (InputStream in = HtmlRenderer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** JSON that cannot end the script element it sits in: {@code < > &} and line separators escaped. */
    private static final class ScriptSafe extends CharacterEscapes {
        private static final long serialVersionUID = 1L;
        private final int[] escapes;

        ScriptSafe() {
            escapes = standardAsciiEscapesForJSON();
            escapes['<'] = ESCAPE_STANDARD;
            escapes['>'] = ESCAPE_STANDARD;
            escapes['&'] = ESCAPE_STANDARD;
        }

        @Override
        public int[] getEscapeCodesForAscii() {
            return escapes;
        }

        @Override
        public SerializableString getEscapeSequence(int ch) {
            if (ch == 0x2028) {
                return new SerializedString("\\u2028");
            }
            if (ch == 0x2029) {
                return new SerializedString("\\u2029");
            }
            return null;
        }
    }
}
