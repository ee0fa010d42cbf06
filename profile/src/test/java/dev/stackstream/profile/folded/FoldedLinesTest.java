package dev.stackstream.profile.folded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The byte path of the collapsed reader against the String semantics it must keep. */
class FoldedLinesTest {

    @Test
    void orderAndMergingEqualStringsOnUnsortedInput(@TempDir Path dir) throws IOException {
        // U+E000 and U+FFFD sort after a supplementary character (surrogates) as Strings, but
        // before it as UTF-8 bytes; duplicates and shared prefixes in no particular order
        List<String> lines = new ArrayList<>(List.of("a;\uE000 1", "a;\uD83D\uDE00 2", "a;\uFFFD;x 3", "a;b;c 4",
                "a;b 5", "a;b;c 6", "\u00e4;\u00f6 7", "a;\uD83D\uDE00;y 8", "z 9", "a;b;c;d 10"));
        for (int shuffle = 0; shuffle < 3; shuffle++) {
            Collections.shuffle(lines, new java.util.Random(shuffle));
            String text = String.join("\n", lines) + "\n";
            Path f = dir.resolve("p" + shuffle + ".collapsed");
            Files.writeString(f, text, StandardCharsets.UTF_8);
            SortedMap<String, Long> bytes = FoldedReader.readFolded(f);
            assertInstanceOf(FoldedLines.class, bytes);
            TreeMap<String, Long> strings = FoldedReader.readFolded(new StringReader(text), "t");
            assertEquals(new ArrayList<>(strings.entrySet()), new ArrayList<>(bytes.entrySet()), "order: " + lines);
            assertEquals(10L, bytes.get("a;b;c"));
        }
    }

    @Test
    void malformedBytesBecomeReplacementCharacters(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes("a;".getBytes(StandardCharsets.UTF_8));
        b.write(0xff);
        b.writeBytes(" 1\na;".getBytes(StandardCharsets.UTF_8));
        b.write(0xfe);
        b.writeBytes(" 2\na;\uFFFD;x 4\n".getBytes(StandardCharsets.UTF_8));
        Path f = dir.resolve("bad.collapsed");
        Files.write(f, b.toByteArray());
        SortedMap<String, Long> folded = FoldedReader.readFolded(f);
        // both malformed bytes decode to U+FFFD: one stack, as the String reader sees it
        assertEquals(Map.of("a;\uFFFD", 3L, "a;\uFFFD;x", 4L), folded);
        assertEquals(FoldedReader.readFolded(new StringReader(new String(b.toByteArray(), StandardCharsets.UTF_8)),
                "t"), folded);
    }

    @Test
    void cursorSplitsFramesAndCountsSharedPrefixes() {
        FoldedLines lines = FoldedLines.of(List.of("a;b;c", "a;b;d", "a;bb", "a;bb;x", "b", "b;c"),
                new long[] {1, 2, 3, 4, 5, 6});
        int[] depth = {3, 3, 2, 3, 1, 2};
        int[] shared = {0, 2, 1, 2, 0, 1};
        FoldedLines.Cursor c = lines.hashingCursor();
        FoldedLines.Cursor plain = lines.cursor();
        for (int i = 0; i < lines.size(); i++) {
            c.advance(i);
            plain.advance(i);
            assertEquals(c.shared(), plain.shared());
            assertEquals(c.depth(), plain.depth());
            assertEquals(depth[i], c.depth(), "depth of line " + i);
            assertEquals(shared[i], c.shared(), "shared frames of line " + i);
            List<String> frames = new ArrayList<>();
            for (int k = 0; k < c.depth(); k++) {
                frames.add(new String(lines.text(), c.frameFrom(k), c.frameTo(k) - c.frameFrom(k), StandardCharsets.UTF_8));
                assertEquals(lines.hash(c.frameFrom(k), c.frameTo(k)), c.frameHash(k), "hash of frame " + k);
            }
            assertEquals(List.of(lines.stack(i).split(";")), frames);
        }
        assertEquals(21, lines.total());
    }

    @Test
    void stringAndByteComparisonAgree() {
        String[] s = {"", "a", "b", "ab", "\u00e4", "\uE000", "\uFFFD", "\uD83D\uDE00", "\uD83D\uDE00a", "a\uE000",
                      "a\uD800\uDC00", "\u07ff", "\u0800"};
        List<String> all = List.of(s);
        FoldedLines lines = FoldedLines.of(all, new long[s.length]);
        for (int i = 0; i < s.length; i++) {
            for (int j = 0; j < s.length; j++) {
                int expected = Integer.signum(s[i].compareTo(s[j]));
                int actual = Integer.signum(FoldedLines.compare(lines.text(), lines.from(i), lines.to(i),
                        lines.from(j), lines.to(j)));
                assertEquals(expected, actual, "'" + s[i] + "' vs '" + s[j] + "'");
            }
        }
    }
}
