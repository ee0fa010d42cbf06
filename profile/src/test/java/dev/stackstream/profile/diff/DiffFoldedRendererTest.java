package dev.stackstream.profile.diff;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stackstream.profile.render.RenderOptions;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DiffFoldedRendererTest {

    private static String render(Diff diff) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new DiffFoldedRenderer().render(diff, RenderOptions.defaults(), out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void twoCountColumnsInStringOrder() throws Exception {
        Map<String, Long> before = Map.of("main;b", 100L, "main;a", 100L, "main;ünï", 7L);
        Map<String, Long> after = Map.of("main;a", 300L, "main;c", 100L);
        assertEquals("main;a 100 300\nmain;b 100 0\nmain;c 0 100\nmain;ünï 7 0\n",
                render(Diff.of(before, after, false)));
    }

    @Test
    void normalisedBaselineColumn() throws Exception {
        // baseline total 200 scaled to the comparison's 400
        Diff d = Diff.of(Map.of("main;a", 100L, "main;b", 100L), Map.of("main;a", 300L, "main;c", 100L), true);
        assertEquals("main;a 200 300\nmain;b 200 0\nmain;c 0 100\n", render(d));
    }

    @Test
    void emptyDiffWritesNothing() throws Exception {
        assertEquals("", render(Diff.of(Map.of(), Map.of(), false)));
    }

    @Test
    void formatNamesMatchTheProfileRenderers() {
        assertEquals("collapsed", new DiffFoldedRenderer().format());
        assertEquals("text/plain; charset=utf-8", new DiffFoldedRenderer().mediaType());
        assertEquals("svg", new DiffSvgRenderer().format());
    }
}
