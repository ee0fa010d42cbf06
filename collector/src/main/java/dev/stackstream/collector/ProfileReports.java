package dev.stackstream.collector;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.profile.render.Renderer;
import dev.stackstream.profile.render.Renderers;
import dev.stackstream.collector.sampling.NativeStats;
import dev.stackstream.profile.report.Summary;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a profile into the files {@code record} writes: one file per format the profile module
 * renders (profile.collapsed, profile.json, flamegraph.svg, ... under each renderer's default file
 * name) plus {@value #SUMMARY_FILE}, the text report.
 */
public final class ProfileReports {
    /** File name of the text summary. */
    public static final String SUMMARY_FILE = "summary.txt";

    private ProfileReports() {
    }

    /** The text report: elapsed, samples, rate, unique stacks, losses, hottest paths, top functions, threads. */
    public static String summary(Profile profile) {
        return Summary.of(profile).toText();
    }

    /** The text report followed by the sampler's unwinding block ({@link UnwindReport}). */
    public static String summary(Profile profile, NativeStats sampler) {
        return summary(profile) + UnwindReport.text(sampler);
    }

    /**
     * Writes every format and the summary into dir (created if missing). Each file is written to a
     * temporary name first and moved into place, so a reader never sees half a file.
     *
     * @return the files written, summary last
     */
    public static List<Path> writeAll(Profile profile, Path dir, RenderOptions options) throws IOException {
        return writeAll(profile, dir, options, summary(profile));
    }

    /** {@link #writeAll(Profile, Path, RenderOptions)} with the given summary text. */
    public static List<Path> writeAll(Profile profile, Path dir, RenderOptions options, String summary)
            throws IOException {
        Files.createDirectories(dir);
        List<Path> written = new ArrayList<>();
        for (Renderer r : Renderers.all()) {
            written.add(write(dir.resolve(r.defaultFileName()), out -> r.render(profile, options, out)));
        }
        byte[] text = summary.getBytes(StandardCharsets.UTF_8);
        written.add(write(dir.resolve(SUMMARY_FILE), out -> out.write(text)));
        return written;
    }

    /** Writes one format into file. */
    public static Path write(Profile profile, String format, RenderOptions options, Path file) throws IOException {
        Renderer r = Renderers.byFormat(format).orElseThrow(() -> new IllegalArgumentException(
                "unknown format '" + format + "'; known: " + Renderers.formatNames()));
        return write(file, out -> r.render(profile, options, out));
    }

    private interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    private static Path write(Path file, Body body) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
            body.writeTo(out);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
