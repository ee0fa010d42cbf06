package dev.stackstream.profile.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Fixtures;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SVG and HTML flame graphs opened in headless Chromium (Debian's chromium): the pages apply
 * a deep link (#s=search, #z=zoom, #v=view) on load and publish their state as data-* attributes,
 * which --dump-dom returns with the DOM after the load event. Script errors are collected into
 * data-errors by a window error handler, so "no errors" is checked on every page.
 */
class BrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Pattern ATTR = Pattern.compile("\\s(data-[a-z-]+)=\"([^\"]*)\"");

    @TempDir
    static Path dir;
    static Path svg;
    static Path html;

    @BeforeAll
    static void render() throws IOException {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM), "chromium not installed (Debian package chromium)");
        svg = dir.resolve("flame.svg");
        html = dir.resolve("flame.html");
        Profile p = Fixtures.calltree();
        try (OutputStream out = Files.newOutputStream(svg)) {
            new SvgRenderer().render(p, RenderOptions.defaults(), out);
        }
        try (OutputStream out = Files.newOutputStream(html)) {
            new HtmlRenderer().render(p, RenderOptions.defaults(), out);
        }
    }

    static String dumpDom(Path file, String hash) throws Exception {
        Path profileDir = Files.createTempDirectory(dir, "chromium-profile");
        List<String> cmd = List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profileDir, "--window-size=1200,900", "--dump-dom",
                file.toUri() + (hash.isEmpty() ? "" : "#" + hash));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium timed out");
        assertTrue(dom.length() > 100, "chromium returned no DOM (exit " + p.exitValue() + ")");
        return dom;
    }

    /** data-* attributes of the first element that has data-ready (the root svg or the body). */
    static Map<String, String> state(String dom) {
        int at = dom.indexOf("data-ready=\"true\"");
        assertTrue(at > 0, "page script did not finish: no data-ready");
        int open = dom.lastIndexOf('<', at);
        String tag = dom.substring(open, dom.indexOf('>', at) + 1);
        Map<String, String> out = new TreeMap<>();
        Matcher m = ATTR.matcher(tag);
        while (m.find()) {
            out.put(m.group(1), m.group(2));
        }
        assertFalse(out.containsKey("data-errors"), "script errors: " + out.get("data-errors"));
        return out;
    }

    static int frameIndex(String svgText, String name) {
        Matcher m = Pattern.compile("<g class=\"f\"><title>([^<]*)</title>").matcher(svgText);
        int i = 0;
        while (m.find()) {
            if (m.group(1).startsWith(name + " (")) {
                return i;
            }
            i++;
        }
        throw new AssertionError("no frame " + name);
    }

    @Test
    void svgSearchHighlightsAndReportsMatchedShare() throws Exception {
        String dom = dumpDom(svg, "s=%5Ec%24");
        Map<String, String> s = state(dom);
        assertEquals("30.1", s.get("data-matched"), "c and its callees are 1505 of 5000 samples");
        assertEquals("1", s.get("data-matches"));
        assertTrue(dom.contains("fill=\"rgb(230,0,230)\""), "matched frame repainted");
        assertTrue(dom.contains("Matched: 30.1%"));
        assertEquals(1, dom.split("fill=\"rgb\\(230,0,230\\)\"", -1).length - 1);
    }

    @Test
    void svgClickZoomWidensTheFrameAndHidesOthers() throws Exception {
        String text = Files.readString(svg);
        int a = frameIndex(text, "a");
        String before = dumpDom(svg, "");
        state(before);
        String dom = dumpDom(svg, "z=" + a);
        Map<String, String> s = state(dom);
        assertEquals(String.valueOf(a), s.get("data-zoomed"));
        Matcher m = Pattern.compile("<g class=\"f\"[^>]*><title>a \\([^<]*</title><rect x=\"([^\"]+)\" y=\"[^\"]+\" width=\"([^\"]+)\"")
                .matcher(dom);
        assertTrue(m.find(), "frame a in the zoomed DOM");
        assertEquals("10.0", m.group(1));
        assertEquals("1180.0", m.group(2));
        assertTrue(dom.matches("(?s).*<g class=\"f\"[^>]*style=\"display: none;\"[^>]*><title>c \\(.*"), "c hidden when zoomed into a");
        assertTrue(dom.contains("Reset Zoom"));
    }

    @Test
    void htmlSearchHighlightsFrames() throws Exception {
        Map<String, String> s = state(dumpDom(html, "s=%5Ec%24"));
        assertEquals("flame", s.get("data-view"));
        assertEquals("30.1", s.get("data-matched"));
        assertTrue(Integer.parseInt(s.get("data-highlighted")) >= 1);
        assertTrue(Integer.parseInt(s.get("data-search-pixels")) > 100, "search colour painted on the canvas");
        Map<String, String> none = state(dumpDom(html, "s=no_such_function"));
        assertEquals("0", none.get("data-search-pixels"));
    }

    @Test
    void htmlZoomChangesTheView() throws Exception {
        Map<String, String> whole = state(dumpDom(html, ""));
        Map<String, String> zoomed = state(dumpDom(html, "z=a"));
        assertEquals("", whole.get("data-zoom"));
        assertEquals("5000", whole.get("data-zoom-width"));
        assertEquals("a", zoomed.get("data-zoom"));
        assertEquals("3494", zoomed.get("data-zoom-width"));
        assertTrue(Integer.parseInt(zoomed.get("data-drawn")) < Integer.parseInt(whole.get("data-drawn")),
                "zooming into a leaves c's frames out: " + whole + " vs " + zoomed);
    }

    @Test
    void htmlTopFunctionsSandwichAndReversedViews() throws Exception {
        Map<String, String> top = state(dumpDom(html, "v=top"));
        assertEquals("b", top.get("data-top-first"));
        assertEquals("9", top.get("data-top-rows"));
        Map<String, String> sandwich = state(dumpDom(html, "v=sandwich:c"));
        assertEquals("sandwich", sandwich.get("data-view"));
        assertEquals("c", sandwich.get("data-sandwich"));
        Map<String, String> reversed = state(dumpDom(html, "v=reversed"));
        assertEquals("reversed", reversed.get("data-view"));
        // reversed tree: root, then leaf functions (b, c, ksys_read, Work.run, libplugin) and their callers
        assertEquals(whole().get("data-nodes"), "10");
        assertTrue(Integer.parseInt(reversed.get("data-nodes")) > 10);
    }

    private static Map<String, String> whole() throws Exception {
        return state(dumpDom(html, ""));
    }

    @Test
    void htmlStaysResponsiveWithHundredThousandStacks() throws Exception {
        // 100k unique stacks, 10-14 frames deep: the page must load, lay out and cull
        ProfileBuilder b = Profile.builder(ProfileType.cpu(99));
        List<Frame> pool = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            pool.add(Frame.named("fn_" + i, i % 7 == 0 ? FrameKind.KERNEL : FrameKind.USER));
        }
        java.util.Random r = new java.util.Random(7);
        for (int s = 0; s < 100_000; s++) {
            int depth = 10 + r.nextInt(5);
            List<Frame> frames = new ArrayList<>(depth);
            frames.add(pool.get(0));
            for (int d = 1; d < depth; d++) {
                frames.add(pool.get(d < 4 ? r.nextInt(8) : r.nextInt(pool.size())));
            }
            b.add(new Stack(frames, false), null, 1 + r.nextInt(20));
        }
        Path big = dir.resolve("big.html");
        try (OutputStream out = Files.newOutputStream(big)) {
            new HtmlRenderer().render(b.build(), RenderOptions.defaults(), out);
        }
        Map<String, String> s = state(dumpDom(big, "s=fn_1%24"));
        int nodes = Integer.parseInt(s.get("data-nodes"));
        int drawn = Integer.parseInt(s.get("data-drawn"));
        assertTrue(nodes > 500_000, "frames in the tree: " + nodes);
        assertTrue(drawn < nodes / 10, "narrow frames culled: drew " + drawn + " of " + nodes);
        assertTrue(Integer.parseInt(s.get("data-search-pixels")) > 0);
    }
}
