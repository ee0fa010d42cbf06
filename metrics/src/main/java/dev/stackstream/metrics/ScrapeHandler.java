package dev.stackstream.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What {@code GET /metrics} answers, independent of the HTTP server that serves it (the collector
 * uses the JDK's server, the aggregator Javalin): the Prometheus text exposition (format 0.0.4) of a
 * registry, after an optional refresh that registers meters which appeared since the last scrape.
 * A registry that is not a Prometheus one (tests pass a simple registry) answers 404; a failing
 * scrape answers 500 with the cause, so Prometheus records the target as down.
 */
public final class ScrapeHandler {
    /** Content type of the Prometheus text format. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final String TEXT = "text/plain; charset=utf-8";

    /** One answer: status, content type, body. */
    public record Response(int status, String contentType, byte[] body) {
        /** The body as text. */
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final MeterRegistry registry;
    private final Runnable beforeScrape;

    private ScrapeHandler(MeterRegistry registry, Runnable beforeScrape) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.beforeScrape = Objects.requireNonNull(beforeScrape, "beforeScrape");
    }

    /** Scrapes registry as it is. */
    public static ScrapeHandler of(MeterRegistry registry) {
        return new ScrapeHandler(registry, () -> { });
    }

    /** Runs beforeScrape (e.g. registering meters for causes seen since the last scrape), then scrapes. */
    public static ScrapeHandler of(MeterRegistry registry, Runnable beforeScrape) {
        return new ScrapeHandler(registry, beforeScrape);
    }

    /** The answer to one scrape. */
    public Response scrape() {
        if (!(registry instanceof PrometheusMeterRegistry prometheus)) {
            return new Response(404, TEXT, bytes("metrics are not exported in Prometheus format by this process\n"));
        }
        try {
            beforeScrape.run();
            return new Response(200, CONTENT_TYPE, bytes(prometheus.scrape()));
        } catch (RuntimeException e) {
            return new Response(500, TEXT, bytes("scrape failed: " + e + "\n"));
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
