package dev.stackstream.aggregator.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * One HTTP/1.1 GET over a plain socket with the request target exactly as given, bytes no URI
 * class would let through included, timed from connect to the end of the answer.
 */
public final class RawHttp {
    /** The answer: status (-1 when the server closed without one, 0 on timeout), time, body bytes. */
    public record Answer(int status, long nanos, long bodyBytes) {
        public double millis() {
            return nanos / 1e6;
        }
    }

    private RawHttp() {
    }

    /** Sends GET target; gives up (status 0) when a read waits longer than timeout. */
    public static Answer get(int port, byte[] target, String token, Duration timeout) throws IOException {
        long t0 = System.nanoTime();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            s.setSoTimeout((int) timeout.toMillis());
            ByteArrayOutputStream req = new ByteArrayOutputStream(target.length + 200);
            req.writeBytes("GET ".getBytes(StandardCharsets.US_ASCII));
            req.writeBytes(target);
            req.writeBytes((" HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n" + (token == null ? ""
                    : "Authorization: Bearer " + token + "\r\n") + "Connection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            try {
                out.write(req.toByteArray());
                out.flush();
            } catch (IOException refused) {
                // The server may answer (431/414) and close before a huge request line is written.
            }
            InputStream in = s.getInputStream();
            try {
                int status = status(in);
                long body = in.transferTo(OutputStream.nullOutputStream());
                return new Answer(status, System.nanoTime() - t0, body);
            } catch (SocketTimeoutException e) {
                return new Answer(0, System.nanoTime() - t0, 0);
            } catch (IOException reset) {
                return new Answer(-1, System.nanoTime() - t0, 0);
            }
        }
    }

    /** The status code of the status line ("HTTP/1.1 400 Bad Request"), -1 when there is none. */
    private static int status(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b = in.read(); b != -1 && b != '\n' && line.length() < 200; b = in.read()) {
            line.append((char) b);
        }
        String[] parts = line.toString().trim().split(" ");
        if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
            return -1;
        }
        try {
            return Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
