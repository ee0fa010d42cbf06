package dev.stackstream.profile.render;

import dev.stackstream.profile.folded.FoldedStacks;
import dev.stackstream.profile.folded.FoldedRenderer;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.folded.FoldedLines;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
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
            FoldedLines lines = FoldedLines.of(folded);
            int n = lines.size();
            int[] lengths = new int[n];
            int[] shared = new int[n];
            NameTable names = new NameTable(lines);
            FoldedLines.Cursor cursor = lines.hashingCursor();
            g.writeArrayFieldStart("frames");
            for (int s = 0; s < n; s++) {
                cursor.advance(s);
                int depth = cursor.depth();
                for (int k = cursor.shared(); k < depth; k++) {
                    g.writeNumber(names.id(cursor.frameFrom(k), cursor.frameTo(k), cursor.frameHash(k)));
                }
                lengths[s] = depth;
                shared[s] = cursor.shared();
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
            for (int i = 0; i < n; i++) {
                g.writeNumber(lines.count(i));
            }
            g.writeEndArray();
            g.writeArrayFieldStart("names");
            for (int i = 0; i < names.size(); i++) {
                g.writeString(names.name(i));
            }
            g.writeEndArray();
            g.writeEndObject();
        }
    }

    /**
     * Frame names numbered in order of first appearance, looked up by their bytes in the folded
     * text (open addressing), so the millions of frame occurrences in a big profile cost a hash
     * and a comparison each, and only the distinct names ever become Strings.
     */
    private static final class NameTable {
        private final byte[] text;
        private int[] slots = new int[1 << 12]; // name id + 1, 0 = free
        private int[] from = new int[1 << 11];
        private int[] to = new int[1 << 11];
        private int[] hashes = new int[1 << 11];
        private int size;

        NameTable(FoldedLines lines) {
            this.text = lines.text();
        }

        /** The id of the name at text[f, t), whose {@link FoldedLines#hash} is h. */
        int id(int f, int t, int h) {
            byte[] b = text;
            int mask = slots.length - 1;
            for (int at = h & mask; ; at = (at + 1) & mask) {
                int id = slots[at] - 1;
                if (id < 0) {
                    return insert(at, f, t, h);
                }
                if (hashes[id] == h && Arrays.equals(b, f, t, b, from[id], to[id])) {
                    return id;
                }
            }
        }

        private int insert(int slot, int f, int t, int h) {
            if (size == from.length) {
                from = Arrays.copyOf(from, size * 2);
                to = Arrays.copyOf(to, size * 2);
                hashes = Arrays.copyOf(hashes, size * 2);
            }
            int id = size++;
            from[id] = f;
            to[id] = t;
            hashes[id] = h;
            slots[slot] = id + 1;
            if (size * 2 > slots.length) {
                rehash();
            }
            return id;
        }

        private void rehash() {
            slots = new int[slots.length * 2];
            int mask = slots.length - 1;
            for (int id = 0; id < size; id++) {
                int at = hashes[id] & mask;
                while (slots[at] != 0) {
                    at = (at + 1) & mask;
                }
                slots[at] = id + 1;
            }
        }

        int size() {
            return size;
        }

        String name(int id) {
            return new String(text, from[id], to[id] - from[id], StandardCharsets.UTF_8);
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
