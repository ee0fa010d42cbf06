package dev.stackstream.profile.diff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import dev.stackstream.profile.render.RenderOptions;

class DiffTest {

    @Test
    void perStackCountsAndNormalisation() {
        Map<String, Long> before = Map.of("main;a", 100L, "main;b", 100L);
        Map<String, Long> after = Map.of("main;a", 300L, "main;c", 100L);
        Diff raw = Diff.of(before, after, false);
        assertEquals(3, raw.entries().size());
        assertEquals(new Diff.Entry("main;a", 100, 300), raw.entries().get(0));
        assertEquals(new Diff.Entry("main;b", 100, 0), raw.entries().get(1));
        assertEquals(new Diff.Entry("main;c", 0, 100), raw.entries().get(2));
        assertFalse(raw.normalized());
        Diff norm = Diff.of(before, after, true);
        assertTrue(norm.normalized());
        // baseline scaled by 400/200: a 200 -> 300 is growth of 100, b 200 -> 0
        assertEquals(200, norm.entries().get(0).baseline());
        assertEquals(100, norm.entries().get(0).delta());
        assertEquals(-200, norm.entries().get(1).delta());
        assertEquals(200, norm.baselineTotal());
    }

    @Test
    void svgColoursGrowthRedAndShrinkageBlue() throws Exception {
        Diff d = Diff.of(Map.of("main;grow", 10L, "main;shrink", 50L, "main;same", 20L),
                Map.of("main;grow", 50L, "main;shrink", 10L, "main;same", 20L), false);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new DiffSvgRenderer().render(d, RenderOptions.defaults(), out);
        String svg = out.toString(StandardCharsets.UTF_8);
        assertTrue(svg.contains("<title>grow (50 samples, 62.50%; +50.00%)</title>"), svg);
        assertTrue(svg.contains("<title>shrink (10 samples, 12.50%; -50.00%)</title>"), svg);
        // largest change saturates: growth pure red, shrinkage pure blue, unchanged white
        assertTrue(svg.matches("(?s).*grow \\(50[^<]*</title><rect [^>]*fill=\"rgb\\(255,0,0\\)\".*"), svg);
        assertTrue(svg.matches("(?s).*shrink \\(10[^<]*</title><rect [^>]*fill=\"rgb\\(0,0,255\\)\".*"), svg);
        assertTrue(svg.matches("(?s).*same \\(20[^<]*</title><rect [^>]*fill=\"rgb\\(255,255,255\\)\".*"), svg);
        // widths from the comparison: grow is 50 of 80
        assertTrue(svg.contains("<title>all (80 samples, 100%)</title>"));
    }
}
