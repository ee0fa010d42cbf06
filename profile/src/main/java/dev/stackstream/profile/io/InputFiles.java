package dev.stackstream.profile.io;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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

    /**
     * The file's whole content, gunzipped when it starts with the gzip magic. A plain file is read
     * through a small reused buffer straight into one array of its size: Files.readAllBytes would
     * go through a temporary native buffer as large as the file (tens of MB to allocate, fault in
     * and copy once more), a cost `render` pays on every big input.
     */
    public static byte[] readAllBytes(Path file) throws IOException {
        try (InputStream in = stream(file)) {
            if (in instanceof GZIPInputStream) {
                return in.readAllBytes();
            }
        }
        try (FileChannel ch = FileChannel.open(file)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE - 16) {
                throw new IOException(file + ": too large to read at once (" + size + " bytes)");
            }
            byte[] bytes = new byte[(int) size];
            ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 16);
            int n = 0;
            while (true) {
                chunk.clear();
                if (ch.read(chunk) < 0) {
                    break;
                }
                chunk.flip();
                int r = chunk.remaining();
                if (n + r > bytes.length) { // the file grew while we read it
                    bytes = Arrays.copyOf(bytes, Math.max(n + r, bytes.length * 2));
                }
                chunk.get(bytes, n, r);
                n += r;
            }
            return n == bytes.length ? bytes : Arrays.copyOf(bytes, n);
        }
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
