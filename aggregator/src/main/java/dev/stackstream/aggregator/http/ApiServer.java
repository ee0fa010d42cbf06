package dev.stackstream.aggregator.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.aggregator.AggregatorMetrics;
import dev.stackstream.aggregator.connect.ConnectHandler;
import dev.stackstream.aggregator.connect.GrafanaQuerier;
import dev.stackstream.aggregator.query.ApiException;
import dev.stackstream.aggregator.query.ClusterQueries;
import dev.stackstream.aggregator.query.DiffReport;
import dev.stackstream.aggregator.query.PartialResult;
import dev.stackstream.aggregator.query.ProfileRequest;
import dev.stackstream.aggregator.query.QueryParameters;
import dev.stackstream.aggregator.query.QueryBudget;
import dev.stackstream.aggregator.query.QueryLimits;
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
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side: the JSON query API under {@code /api/v1}, the Grafana (Pyroscope querier) API
 * under {@code /querier.v1.QuerierService/} (package {@code connect}), the web UI at {@code /},
 * {@code /healthz} and {@code /metrics}. Every response carries the {@link SecurityHeaders}, and a request whose
 * Host is not on the allow-list gets a 421 ({@link HostAllowList}). Every API route goes through one
 * wrapper that checks the token ({@link RequestAuth}), opens the query's {@link QueryBudget}, maps
 * {@link ApiException}s to 400/404/422/503 (with {@code Retry-After})/504 with a JSON body
 * {@code {"error": ..., "parameter": ...}}, turns anything unexpected into a logged 500, and times
 * the request per endpoint.
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
    private final RequestAuth auth;
    private final QueryLimits queryLimits;
    private final SecurityHeaders securityHeaders;
    private final HostAllowList allowedHosts;
    private final byte[] uiPage;
    private final Supplier<String> health;
    private volatile QueryService queries;
    private volatile ClusterQueries cluster;

    /**
     * Starts listening on host:port (0 = any free port). Queries answer 503 until
     * {@link #attach(QueryService, ClusterQueries)}; health reports what the supplier says
     * ("RUNNING" is healthy).
     */
    public ApiServer(HttpSettings settings, AggregatorMetrics metrics, Supplier<String> health) throws IOException {
        this.metrics = metrics;
        this.auth = new RequestAuth(settings.authToken(), settings.internalToken());
        this.queryLimits = settings.queryLimits();
        this.allowedHosts = new HostAllowList(settings.allowedHosts());
        this.uiPage = uiPage();
        this.securityHeaders = new SecurityHeaders(new String(uiPage, StandardCharsets.UTF_8));
        this.health = health;
        ConnectHandler grafana = new GrafanaQuerier(this::q).handler();
        this.app = Javalin.create(config -> {
            config.jetty.host = settings.host();
            config.jetty.port = settings.port();
            config.startup.showJavalinBanner = false;
            config.routes.before(this::guard);
            // Outside the routes' own handling: Javalin decoding a path parameter with a malformed
            // escape (/api/v1/labels/%u0041/values) throws this before any route runs; it was a 500.
            config.routes.exception(IllegalArgumentException.class, (e, ctx) -> {
                try {
                    error(ctx, 400, "the request's path or query is not valid: " + e.getMessage(), null);
                } catch (IOException unwritable) {
                    throw new java.io.UncheckedIOException(unwritable);
                }
            });
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
            config.routes.post(grafana.path(), ctx -> connect(ctx, grafana));
            route(config, ClusterQueries.PARTIAL_PATH, "internal-partial", this::internalPartial);
            route(config, ClusterQueries.SERIES_PATH, "internal-series", ctx -> {
                ctx.contentType("application/json");
                ctx.result(ClusterQueries.seriesJson(cl().local().series()));
            });
        });
        app.start();
        LOG.info("query API listening on http://{}:{}/ ({}; allowed hosts {}; query timeout {}, response limit {} B)",
                settings.host(), app.port(), auth.describe(), allowedHosts, queryLimits.timeout(),
                queryLimits.maxResponseBytes());
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
            try (QueryBudget.Scope budget = QueryBudget.enter(queryLimits, ctx.queryParam("timeout"))) {
                if (!auth.allows(path, ctx.header("Authorization"))) {
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

    /**
     * Runs before every route (and before a 404): the security headers, then the Host check. A
     * profile asked for as HTML or SVG gets the sandboxing policy, the UI page its own.
     */
    private void guard(Context ctx) throws IOException {
        String format = ctx.queryParam("format");
        boolean interactive = ctx.path().startsWith("/api/v1/") && ("html".equals(format) || "svg".equals(format));
        securityHeaders.apply(ctx, ctx.path().equals("/"), interactive);
        if (!allowedHosts.allows(ctx.header("Host"))) {
            error(ctx, 421, "Host '" + ctx.header("Host") + "' is not one this aggregator serves (--allowed-hosts "
                    + allowedHosts + "); use one of those names", null);
            ctx.skipRemainingHandlers();
        }
    }

    /**
     * A Connect call (the Grafana API): same token and query limits as the JSON API; the handler
     * opens the call's budget (its Connect-Timeout-Ms may shorten the deadline) and maps its own
     * errors to Connect codes.
     */
    private void connect(Context ctx, ConnectHandler handler) throws IOException {
        long t0 = System.nanoTime();
        int status = 500;
        try {
            status = handler.handle(ctx, auth.allows(ctx.path(), ctx.header("Authorization")), queryLimits);
        } finally {
            metrics.queryTime(handler.endpoint(ctx), status, System.nanoTime() - t0);
        }
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
        if (status == 503) {
            // Restoring, rebalancing or a peer away: the same query succeeds shortly (a rebalance
            // after a lost instance takes about the session timeout; 2 s keeps clients polling gently).
            ctx.header("Retry-After", "2");
        }
        // Unbounded: an error body is small, and it may answer a query that went over its limit.
        Object body = new ErrorBody(status, message, parameter);
        ctx.contentType("application/json");
        ctx.result(JSON.writeValueAsBytes(body));
    }

    /** The request's parameters (path parameters first, then the query string), parsed on demand. */
    private QueryParameters params(Context ctx) {
        Map<String, String> path = ctx.pathParamMap();
        return new QueryParameters(name -> path.containsKey(name) ? path.get(name) : ctx.queryParam(name), q().now());
    }

    /** Writes body as JSON within the query's response limit (a 422 past it). */
    private static void json(Context ctx, Object body) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            JSON.writeValue(QueryBudget.current().boundedOutput(out), body);
        } catch (com.fasterxml.jackson.databind.JsonMappingException e) {
            if (e.getCause() instanceof ApiException a) {
                throw a;
            }
            throw e;
        }
        ctx.contentType("application/json");
        ctx.result(out.toByteArray());
    }

    private void profile(Context ctx) throws IOException {
        QueryParameters p = params(ctx);
        Renderer renderer = p.renderer();
        ProfileRequest r = p.profile();
        RenderOptions options = p.renderOptions(r);
        QueryService.Answer answer = q().profile(r);
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
        renderer.render(answer.profile(), options, QueryBudget.current().boundedOutput(out));
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
        renderer.render(Diff.of(d.baseline(), d.comparison(), options), options, QueryBudget.current().boundedOutput(out));
        ctx.contentType(renderer.mediaType());
        ctx.result(out.toByteArray());
    }

    /** The fan-out endpoint: this instance's part of a query, binary. */
    private void internalPartial(Context ctx) {
        PartialResult r = cl().localPart(params(ctx).internalSpec(), ctx.queryParam(ClusterQueries.PARTITIONS_PARAMETER));
        byte[] encoded = r.encode();
        QueryBudget.current().checkResponseBytes(encoded.length);
        ctx.contentType("application/octet-stream");
        ctx.result(encoded);
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

    private void ui(Context ctx) {
        ctx.contentType("text/html; charset=utf-8");
        ctx.result(uiPage);
    }

    private static byte[] uiPage() throws IOException {
        try (InputStream in = ApiServer.class.getResourceAsStream("/dev/stackstream/aggregator/ui/index.html")) {
            if (in == null) {
                throw new IOException("the web UI is missing from the jar");
            }
            return in.readAllBytes();
        }
    }

    @Override
    public void close() {
        app.stop();
    }
}
