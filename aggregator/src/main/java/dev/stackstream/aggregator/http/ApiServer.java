package dev.stackstream.aggregator.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.aggregator.AggregatorMetrics;
import dev.stackstream.aggregator.query.ApiException;
import dev.stackstream.aggregator.query.ClusterQueries;
import dev.stackstream.aggregator.query.DiffReport;
import dev.stackstream.aggregator.query.PartialResult;
import dev.stackstream.aggregator.query.ProfileRequest;
import dev.stackstream.aggregator.query.QueryParameters;
import dev.stackstream.aggregator.query.QueryService;
import dev.stackstream.profile.diff.Diff;
import dev.stackstream.profile.diff.DiffFoldedRenderer;
import dev.stackstream.profile.diff.DiffRenderer;
import dev.stackstream.profile.diff.DiffSvgRenderer;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.profile.render.Renderer;
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
            route(config, "/api/v1/services", "services", ctx -> json(ctx, q().services()));
            route(config, "/api/v1/profile-types", "profile-types", ctx -> json(ctx,
                    q().profileTypes(params(ctx).optional("service"))));
            route(config, "/api/v1/labels", "labels", ctx -> json(ctx, q().labelNames(params(ctx).service())));
            route(config, "/api/v1/labels/{name}/values", "label-values", ctx -> {
                QueryParameters p = params(ctx);
                String service = p.service();
                json(ctx, q().labelValues(service, p.labelName("name")));
            });
            route(config, "/api/v1/profile", "profile", this::profile);
            route(config, "/api/v1/summary", "summary", this::summary);
            route(config, "/api/v1/diff", "diff", this::diff);
            route(config, "/api/v1/timeline", "timeline", ctx -> {
                QueryParameters p = params(ctx);
                json(ctx, q().timeline(p.profile(), p.step()));
            });
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

    /** The error body; parameter only for a bad parameter. */
    @JsonPropertyOrder({"status", "error", "parameter"})
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ErrorBody(int status, String error, String parameter) { }

    /** The health body. */
    @JsonPropertyOrder({"status", "state", "time"})
    record Health(String status, String state, String time) { }

    private static void error(Context ctx, int status, String message, String parameter) throws IOException {
        ctx.status(status);
        json(ctx, new ErrorBody(status, message, parameter));
    }

    private static void json(Context ctx, Object body) throws IOException {
        ctx.contentType("application/json");
        ctx.result(JSON.writeValueAsBytes(body));
    }

    /** The request's parameters (path parameters first, then the query string), parsed on demand. */
    private QueryParameters params(Context ctx) {
        Map<String, String> path = ctx.pathParamMap();
        return new QueryParameters(name -> path.containsKey(name) ? path.get(name) : ctx.queryParam(name), q().now());
    }

    private void profile(Context ctx) throws IOException {
        QueryParameters p = params(ctx);
        Renderer renderer = p.renderer();
        ProfileRequest r = p.profile();
        RenderOptions options = p.renderOptions(r);
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
        QueryParameters p = params(ctx);
        String format = p.choice("format", "json", List.of("json", "text"), "json or text");
        Summary s = Summary.of(q().profile(p.profile()).profile());
        if (format.equals("text")) {
            ctx.contentType("text/plain; charset=utf-8");
            ctx.result(s.toText());
        } else {
            json(ctx, s);
        }
    }

    private void diff(Context ctx) throws IOException {
        QueryParameters p = params(ctx);
        String format = p.choice("format", "json", List.of("json", "collapsed", "svg"),
                "a diff format (json, collapsed, svg)");
        boolean normalize = p.flag("normalize", true);
        ProfileRequest comparison = p.profile();
        QueryService.DiffAnswer d = q().diff(comparison, p.baseline(comparison));
        RenderOptions options = p.renderOptions(d.comparisonRequest()).withNormalize(normalize);
        switch (format) {
            case "svg" -> render(ctx, new DiffSvgRenderer(), d, options);
            case "collapsed" -> render(ctx, new DiffFoldedRenderer(), d, options);
            default -> json(ctx, DiffReport.of(d, options));
        }
    }

    private static void render(Context ctx, DiffRenderer renderer, QueryService.DiffAnswer d, RenderOptions options)
            throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        renderer.render(Diff.of(d.baseline(), d.comparison(), options), options, out);
        ctx.contentType(renderer.mediaType());
        ctx.result(out.toByteArray());
    }

    /** The fan-out endpoint: this instance's part of a query, binary. */
    private void internalPartial(Context ctx) {
        PartialResult r = cl().local().partial(params(ctx).internalSpec());
        ctx.contentType("application/octet-stream");
        ctx.result(r.encode());
    }

    private void healthz(Context ctx) throws IOException {
        String state = health.get();
        boolean ok = "RUNNING".equals(state);
        ctx.status(ok ? 200 : 503);
        json(ctx, new Health(ok ? "ok" : "unavailable", state, Instant.now().toString()));
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
