package dev.stackstream.profile.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import dev.stackstream.profile.Fixtures;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.pprof.PprofProto;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every format rendered from one fixed profile equals its golden file (src/test/resources/golden),
 * and rendering twice gives the same bytes (no timestamps, no random ids). pprof is compared in
 * protobuf text form. Regenerate after a deliberate change with -Dstackstream.golden.update=true.
 */
class GoldenTest {

    @ParameterizedTest
    @ValueSource(strings = {"collapsed", "json", "svg", "html", "pprof", "speedscope", "svg-threads-java-icicle"})
    void matchesGolden(String variant) throws IOException {
        Profile p = Fixtures.calltree();
        RenderOptions o = RenderOptions.defaults().withTitle("calltree").withSubtitle("golden");
        String format = variant;
        if (variant.equals("svg-threads-java-icicle")) {
            format = "svg";
            o = o.withThreads(true).withPalette(Palette.JAVA).withInverted(true).withWidth(900).withFrameHeight(18);
        }
        Renderer r = Renderers.byFormat(format).orElseThrow();
        byte[] first = render(r, p, o);
        byte[] second = render(r, p, o);
        assertEquals(new String(first, StandardCharsets.ISO_8859_1), new String(second, StandardCharsets.ISO_8859_1),
                "rendering is deterministic");
        String actual = format.equals("pprof") ? pprofText(first) : new String(first, StandardCharsets.UTF_8);
        String name = variant + (format.equals("pprof") ? ".txtpb" : "." + extension(format));
        Path golden = Path.of("src/test/resources/golden", name);
        if (Boolean.getBoolean("stackstream.golden.update")) {
            Files.createDirectories(golden.getParent());
            Files.writeString(golden, actual, StandardCharsets.UTF_8);
        }
        String expected;
        try (InputStream in = getClass().getResourceAsStream("/golden/" + name)) {
            assertTrue(in != null, "no golden file " + name + " (run with -Dstackstream.golden.update=true)");
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertEquals(expected, actual);
    }

    static byte[] render(Renderer r, Profile p, RenderOptions o) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        r.render(p, o, out);
        return out.toByteArray();
    }

    static String pprofText(byte[] gz) throws IOException {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return TextFormat.printer().printToString(PprofProto.Profile.parseFrom(in));
        }
    }

    private static String extension(String format) {
        return switch (format) {
            case "speedscope" -> "speedscope.json";
            default -> format;
        };
    }
}
