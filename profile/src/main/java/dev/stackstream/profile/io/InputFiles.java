package dev.stackstream.profile.io;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** Opens profile input files: gzip detected by its magic bytes, text decoded as UTF-8 leniently. */
public final class InputFiles {
    private InputFiles() {
    }

    /** A reader over the file's text, gunzipped when the file starts with the gzip magic. */
    public static BufferedReader open(Path file) throws IOException {
        return reader(Files.newInputStream(file));
    }

    /** The file's bytes, gunzipped when the file starts with the gzip magic. */
    public static InputStream stream(Path file) throws IOException {
        BufferedInputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        in.mark(2);
        int b1 = in.read();
        int b2 = in.read();
        in.reset();
        return (b1 == 0x1f && b2 == 0x8b) ? new GZIPInputStream(in, 1 << 16) : in;
    }

    /** A reader over the stream's text, gunzipped when it starts with the gzip magic. */
    public static BufferedReader reader(InputStream raw) throws IOException {
        BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
        in.mark(2);
        int b1 = in.read();
        int b2 = in.read();
        in.reset();
        InputStream text = (b1 == 0x1f && b2 == 0x8b) ? new GZIPInputStream(in, 1 << 16) : in;
        // perf script output can hold bytes that are not UTF-8 (raw symbol names): replace, never fail
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        return new BufferedReader(new InputStreamReader(text, decoder), 1 << 16);
    }
}
