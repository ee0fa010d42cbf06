package dev.stackstream.aggregator.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.aggregator.AggregatorMetrics;
import dev.stackstream.aggregator.query.ApiException;
import dev.stackstream.aggregator.query.ClusterQueries;
import dev.stackstream.aggregator.query.LabelSelector;
import dev.stackstream.aggregator.query.PartialResult;
import dev.stackstream.aggregator.query.ProfileRequest;
import dev.stackstream.aggregator.query.QueryService;
import dev.stackstream.aggregator.query.QuerySpec;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.diff.Diff;
import dev.stackstream.profile.diff.DiffFoldedRenderer;
import dev.stackstream.profile.diff.DiffSvgRenderer;
import dev.stackstream.profile.render.Palette;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.profile.render.Renderer;
import dev.stackstream.profile.render.Renderers;
import dev.stackstream.profile.report.Summary;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side: the JSON query API under {@code /api/v1}, the web UI at {@code /}, {@code /healthz}
 * and {@code /metrics}. Every route goes through one wrapper that checks the bearer token, maps
 * {@link ApiException}s to 400/404/503 with a JSON body {@code {"error": ..., "parameter": ...}},
 * turns anything unexpected into a logged 500, and times the request per endpoint.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A route body; may throw anything (the wrapper maps it). */
    @FunctionalInterface
    interface Route {
        void handle(Context ctx) throws Exception;
    }

    private final Javalin app;
    private final AggregatorMetrics metrics;
    private final byte[] authToken;
    private final Supplier<String> health;
    private volatile QueryService queries;
    private volatile ClusterQueries cluster;

    /**
     * Starts listening on host:port (0 = any free port). Queries answer 503 until
     * {@link #attach(QueryService, ClusterQueries)}; health reports what the supplier says
     * ("RUNNING" is healthy).
     */
    public ApiServer(String host, int port, String authToken, AggregatorMetrics metrics, Supplier<String> health) {
        this.metrics = metrics;
        this.authToken = authToken == null ? null : ("Bearer " + authToken).getBytes(StandardCharsets.UTF_8);
        this.health = health;
        this.app = Javalin.create(config -> {
            config.jetty.host = host;
            config.jetty.port = port;
            config.startup.showJavalinBanner = false;
            config.routes.get("/", ctx -> ui(ctx));
            config.routes.get("/healthz", ctx -> healthz(ctx));
            config.routes.get("/metrics", ctx -> prometheus(ctx));
            route(config, "/api/v1/services", "services", ctx -> json(ctx, Map.of("services", q().services())));
            route(config, "/api/v1/profile-types", "profile-types", ctx -> json(ctx,
                    Map.of("profileTypes", q().profileTypes(blankToNull(ctx.queryParam("service"))))));
            route(config, "/api/v1/labels", "labels", ctx -> {
                String service = ctx.queryParam("service");
                json(ctx, ordered("service", service, "labels", q().labelNames(service)));
            });
            route(config, "/api/v1/labels/{name}/values", "label-values", ctx -> {
                String service = ctx.queryParam("service");
                String name = ctx.pathParam("name");
                json(ctx, ordered("service", service, "label", name, "values", q().labelValues(service, name)));
            });
            route(config, "/api/v1/profile", "profile", this::profile);
            route(config, "/api/v1/summary", "summary", this::summary);
            route(config, "/api/v1/diff", "diff", this::diff);
            route(config, "/api/v1/timeline", "timeline", ctx -> json(ctx,
                    q().timeline(request(ctx), ctx.queryParam("step"))));
            route(config, ClusterQueries.PARTIAL_PATH, "internal-partial", this::internalPartial);
            route(config, ClusterQueries.SERIES_PATH, "internal-series", ctx -> {
                ctx.contentType("application/json");
                ctx.result(ClusterQueries.seriesJson(cl().local().series()));
            });
        });
        app.start();
        LOG.info("query API listening on http://{}:{}/ (auth {})", host, app.port(),
                authToken == null ? "off" : "bearer token");
    }

    /** Makes the query API live. */
    public void attach(QueryService queries, ClusterQueries cluster) {
        this.cluster = cluster;
        this.queries = queries;
    }

    /** The port actually bound. */
    public int port() {
        return app.port();
    }

    private QueryService q() {
        QueryService s = queries;
        if (s == null) {
            throw ApiException.unavailable("the aggregator is starting; retry shortly", null);
        }
        return s;
    }

    private ClusterQueries cl() {
        q();
        return cluster;
    }

    private void route(io.javalin.config.JavalinConfig config, String path, String name, Route route) {
        config.routes.get(path, ctx -> {
            long t0 = System.nanoTime();
            int status = 200;
            try {
                if (!authorized(ctx)) {
                    status = 401;
                    ctx.header("WWW-Authenticate", "Bearer");
                    error(ctx, 401, "missing or wrong bearer token (Authorization: Bearer <token>)", null);
                    return;
                }
                route.handle(ctx);
                status = ctx.statusCode();
            } catch (ApiException e) {
                status = e.status();
                error(ctx, status, e.getMessage(), e.parameter());
            } catch (InvalidStateStoreException e) {
                status = 503;
                error(ctx, status, "state is not queryable right now (" + e.getMessage() + "); retry shortly", null);
            } catch (Exception e) {
                status = 500;
                LOG.error("{} failed for {}", path, ctx.queryString(), e);
                error(ctx, status, "internal error: " + e, null);
            } finally {
                metrics.queryTime(name, status, System.nanoTime() - t0);
            }
        });
    }

    private boolean authorized(Context ctx) {
        if (authToken == null) {
            return true;
        }
        String h = ctx.header("Authorization");
        return h != null && MessageDigest.isEqual(authToken, h.getBytes(StandardCharsets.UTF_8));
    }

    private static void error(Context ctx, int status, String message, String parameter) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", status);
        body.put("error", message);
        if (parameter != null) {
            body.put("parameter", parameter);
        }
        ctx.status(status);
        json(ctx, body);
    }

    private static void json(Context ctx, Object body) throws IOException {
        ctx.contentType("application/json");
        ctx.result(JSON.writeValueAsBytes(body));
    }

    private static Map<String, Object> ordered(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private ProfileRequest request(Context ctx) {
        return ProfileRequest.parse(ctx::queryParam, q().now());
    }

    private void profile(Context ctx) throws IOException {
        String format = ctx.queryParam("format") == null ? "json" : ctx.queryParam("format");
        Renderer renderer = Renderers.byFormat(format).orElseThrow(() -> ApiException.badParameter("format",
                "'" + format + "' is not a format (one of " + Renderers.formatNames() + ")"));
        ProfileRequest r = request(ctx);
        RenderOptions options = renderOptions(ctx, r);
        QueryService.Answer answer = q().profile(r);
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
        renderer.render(answer.profile(), options, out);
        ctx.header("X-Stackstream-Samples", Long.toString(answer.profile().totalCount()));
        ctx.header("X-Stackstream-Series", Integer.toString(answer.partial().seriesMatched()));
        ctx.header("Content-Disposition", "inline; filename=\"" + renderer.defaultFileName() + "\"");
        ctx.contentType(renderer.mediaType());
        ctx.result(out.toByteArray());
    }

    private void summary(Context ctx) throws IOException {
        String format = ctx.queryParam("format") == null ? "json" : ctx.queryParam("format");
        if (!format.equals("json") && !format.equals("text")) {
            throw ApiException.badParameter("format", "'" + format + "' is not json or text");
        }
        Summary s = Summary.of(q().profile(request(ctx)).profile());
        if (format.equals("text")) {
            ctx.contentType("text/plain; charset=utf-8");
            ctx.result(s.toText());
        } else {
            json(ctx, s);
        }
    }

    private void diff(Context ctx) throws IOException {
        String format = ctx.queryParam("format") == null ? "json" : ctx.queryParam("format");
        if (!List.of("json", "collapsed", "svg").contains(format)) {
            throw ApiException.badParameter("format", "'" + format + "' is not a diff format (json, collapsed, svg)");
        }
        boolean normalize = bool(ctx, "normalize", true);
        QueryService.DiffAnswer d = q().diff(ctx::queryParam);
        RenderOptions options = renderOptions(ctx, d.comparisonRequest()).withNormalize(normalize);
        Diff normalized = Diff.of(d.baseline(), d.comparison(), options);
        switch (format) {
            case "svg" -> {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                DiffSvgRenderer svg = new DiffSvgRenderer();
                svg.render(normalized, options, out);
                ctx.contentType(svg.mediaType());
                ctx.result(out.toByteArray());
            }
            case "collapsed" -> {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                DiffFoldedRenderer folded = new DiffFoldedRenderer();
                folded.render(normalized, options, out);
                ctx.contentType(folded.mediaType());
                ctx.result(out.toByteArray());
            }
            default -> {
                Diff raw = Diff.of(d.baseline(), d.comparison(), options.withNormalize(false));
                List<Map<String, Object>> rows = new ArrayList<>();
                for (Diff.Entry e : raw.entries()) {
                    long norm = normalized.lines().get(e.stack())[0];
                    rows.add(ordered("stack", e.stack(), "baseline", e.baseline(), "comparison", e.comparison(),
                            "baselineNormalized", norm, "delta", e.comparison() - norm));
                }
                rows.sort((a, b) -> Long.compare(Math.abs((Long) b.get("delta")), Math.abs((Long) a.get("delta"))));
                json(ctx, ordered("service", d.comparisonRequest().service(), "type", d.comparisonRequest().type(),
                        "normalized", normalized.normalized(),
                        "baseline", side(d.baselineRequest(), d.baseline()),
                        "comparison", side(d.comparisonRequest(), d.comparison()),
                        "stacks", rows));
            }
        }
    }

    private static Map<String, Object> side(ProfileRequest r, Profile p) {
        return ordered("from", r.from().toString(), "to", r.to().toString(), "labels", r.selector().text(),
                "total", p.totalCount());
    }

    private RenderOptions renderOptions(Context ctx, ProfileRequest r) {
        String labels = r.selector().text().isEmpty() ? "" : " " + r.selector().text();
        RenderOptions o = RenderOptions.forType(r.type())
                .withTitle(r.service() + " " + r.type())
                .withSubtitle(r.from() + " to " + r.to() + labels)
                .withThreads(bool(ctx, "threads", false))
                .withInverted(bool(ctx, "inverted", false));
        String palette = ctx.queryParam("palette");
        if (palette != null) {
            try {
                o = o.withPalette(Palette.parse(palette));
            } catch (IllegalArgumentException e) {
                throw ApiException.badParameter("palette", e.getMessage());
            }
        }
        String width = ctx.queryParam("width");
        if (width != null) {
            try {
                o = o.withWidth(Integer.parseInt(width.trim()));
            } catch (IllegalArgumentException e) {
                throw ApiException.badParameter("width", "'" + width + "' is not a width in px >= 100");
            }
        }
        return o;
    }

    private static boolean bool(Context ctx, String name, boolean dflt) {
        String v = ctx.queryParam(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw ApiException.badParameter(name, "'" + v + "' is not true or false");
        };
    }

    /** The fan-out endpoint: this instance's part of a query, binary. */
    private void internalPartial(Context ctx) {
        QuerySpec spec;
        try {
            spec = new QuerySpec(ctx.queryParam("service"), blankToNull(ctx.queryParam("type")),
                    LabelSelector.parse("labels", ctx.queryParam("labels")),
                    Long.parseLong(ctx.queryParam("from_ms")), Long.parseLong(ctx.queryParam("to_ms")),
                    Long.parseLong(ctx.queryParam("step_ms")), Integer.parseInt(ctx.queryParam("max_tier")));
        } catch (NumberFormatException | NullPointerException e) {
            throw ApiException.badParameter("from_ms", "internal query is incomplete: " + e);
        }
        if (spec.service() == null) {
            throw ApiException.badParameter("service", "is required");
        }
        if (spec.maxTier() < 0 || spec.stepMillis() < 0 || spec.fromMillis() < 0 || spec.toMillis() < spec.fromMillis()) {
            throw ApiException.badParameter("max_tier", "internal query out of range (max_tier, step_ms >= 0,"
                    + " 0 <= from_ms <= to_ms)");
        }
        PartialResult r = cl().local().partial(spec);
        ctx.contentType("application/octet-stream");
        ctx.result(r.encode());
    }

    private void healthz(Context ctx) throws IOException {
        String state = health.get();
        boolean ok = "RUNNING".equals(state);
        ctx.status(ok ? 200 : 503);
        json(ctx, ordered("status", ok ? "ok" : "unavailable", "state", state, "time", Instant.now().toString()));
    }

    private void prometheus(Context ctx) {
        if (metrics.registry() instanceof PrometheusMeterRegistry p) {
            ctx.contentType("text/plain; version=0.0.4; charset=utf-8");
            ctx.result(p.scrape());
        } else {
            ctx.status(404);
            ctx.result("metrics are not exported in Prometheus format by this process\n");
        }
    }

    private static void ui(Context ctx) throws IOException {
        try (InputStream in = ApiServer.class.getResourceAsStream("/dev/stackstream/aggregator/ui/index.html")) {
            if (in == null) {
                ctx.status(500).result("the web UI is missing from the jar");
                return;
            }
            ctx.contentType("text/html; charset=utf-8");
            ctx.result(in.readAllBytes());
        }
    }

    @Override
    public void close() {
        app.stop();
    }
}
