package dev.stackstream.collector.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.stackstream.metrics.ScrapeHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A minimal HTTP endpoint for Prometheus on the collector: {@code GET /metrics} (text exposition
 * format 0.0.4) and {@code GET /healthz} (200 "ok", for Kubernetes probes).
 *
 * <p>The sidecar has no other HTTP surface, so this uses the JDK's built-in server instead of
 * pulling a web framework into a process whose footprint is part of the product. One daemon
 * thread serves requests; a scrape is a few kilobytes.
 */
public final class MetricsServer implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor;

    private MetricsServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Starts serving.
     *
     * @param address where to listen, e.g. {@code 127.0.0.1:9464} or {@code 0.0.0.0:9464} in a pod
     *     (port 0 picks a free one; see {@link #port()})
     * @param scrape answers a scrape, e.g. {@code metrics.scrapeHandler()}
     * @throws IOException if the address cannot be bound (in use, or not local)
     */
    public static MetricsServer start(InetSocketAddress address, ScrapeHandler scrape) throws IOException {
        Objects.requireNonNull(scrape, "scrape");
        HttpServer server;
        try {
            server = HttpServer.create(address, 16);
        } catch (IOException e) {
            throw new IOException("cannot serve metrics on " + address + ": " + e.getMessage()
                    + " (choose another --metrics-port, or 0 for a free one)", e);
        }
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "stackstream-metrics-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/metrics", ex -> {
            if (!allowed(ex)) {
                return;
            }
            ScrapeHandler.Response r = scrape.scrape();
            respond(ex, r.status(), r.contentType(), r.body());
        });
        server.createContext("/healthz", ex -> {
            if (allowed(ex)) {
                respond(ex, 200, "text/plain; charset=utf-8", "ok\n".getBytes(StandardCharsets.UTF_8));
            }
        });
        server.createContext("/", ex -> respond(ex, 404, "text/plain; charset=utf-8",
                ("not found: " + ex.getRequestURI().getPath() + " (try /metrics or /healthz)\n")
                        .getBytes(StandardCharsets.UTF_8)));
        server.start();
        return new MetricsServer(server, executor);
    }

    private static boolean allowed(HttpExchange ex) throws IOException {
        String m = ex.getRequestMethod();
        if (m.equals("GET") || m.equals("HEAD")) {
            return true;
        }
        ex.getResponseHeaders().set("Allow", "GET, HEAD");
        respond(ex, 405, "text/plain; charset=utf-8", ("method " + m + " not allowed\n").getBytes(StandardCharsets.UTF_8));
        return false;
    }

    private static void respond(HttpExchange ex, int status, String type, byte[] bytes) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            if (!head) {
                out.write(bytes);
            }
        }
    }

    /** The port actually bound. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The address actually bound. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
