package dev.stackstream.profile.render;

import dev.stackstream.profile.folded.FoldedStacks;
import dev.stackstream.profile.folded.FoldedRenderer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Fixtures;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class RenderersTest {

    @Test
    void registryHasOneRendererPerContractFormat() {
        assertEquals(List.of("collapsed", "json", "svg", "html", "pprof", "speedscope"),
                Renderers.all().stream().map(Renderer::format).toList());
        assertEquals(List.of("profile.collapsed", "profile.json", "flamegraph.svg", "flamegraph.html",
                "profile.pb.gz", "profile.speedscope.json"), Renderers.all().stream().map(Renderer::defaultFileName).toList());
        assertEquals("svg", Renderers.byFormat(" SVG ").orElseThrow().format());
        assertEquals("collapsed", Renderers.byFormat("Folded").orElseThrow().format());
        assertTrue(Renderers.byFormat("png").isEmpty());
        assertTrue(Renderers.byFormat(null).isEmpty());
    }

    @Test
    void emptyProfileRendersInEveryFormat() throws IOException {
        Profile empty = Profile.builder(ProfileType.cpu(99)).build();
        for (Renderer r : Renderers.all()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            r.render(empty, RenderOptions.defaults(), out);
            if (!r.format().equals("collapsed")) {
                assertTrue(out.size() > 0, r.format() + " wrote nothing");
            }
        }
        ByteArrayOutputStream svg = new ByteArrayOutputStream();
        new SvgRenderer().render(empty, RenderOptions.defaults(), svg);
        assertTrue(svg.toString(StandardCharsets.UTF_8).contains("<title>all (0 samples, 100%)</title>"));
    }

    @Test
    void foldedPathEqualsProfilePath() throws IOException {
        Profile p = Fixtures.calltree();
        for (RenderOptions o : List.of(RenderOptions.defaults(), RenderOptions.defaults().withReversed(true))) {
            TreeMap<String, Long> folded = FoldedStacks.of(p, o.withReversed(false));
            for (Renderer r : Renderers.all()) {
                if (r instanceof FoldedRenderer fr) {
                    ByteArrayOutputStream a = new ByteArrayOutputStream();
                    ByteArrayOutputStream b = new ByteArrayOutputStream();
                    r.render(p, o, a);
                    fr.renderFolded(folded, o, b);
                    assertEquals(a.toString(StandardCharsets.UTF_8), b.toString(StandardCharsets.UTF_8), r.format());
                }
            }
        }
    }

    @Test
    void optionsValidateAndCopy() {
        RenderOptions d = RenderOptions.defaults();
        RenderOptions o = d.withTitle("t").withWidth(800).withPalette(Palette.parse("Java")).withInverted(true);
        assertEquals("Flame Graph", d.title());
        assertEquals(1200, d.width());
        assertEquals(16, d.frameHeight());
        assertEquals(0.1, d.minWidth());
        assertEquals(Palette.HOT, d.palette());
        assertEquals("t", o.title());
        assertEquals(800, o.width());
        assertEquals(Palette.JAVA, o.palette());
        assertTrue(o.inverted());
        assertThrows(IllegalArgumentException.class, () -> d.withWidth(10));
        assertThrows(IllegalArgumentException.class, () -> d.withMinWidth(-1));
        assertThrows(IllegalArgumentException.class, () -> Palette.parse("rainbow"));
    }
}
