package dev.stackstream.aggregator.connect;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.stackstream.aggregator.query.ApiException;
import dev.stackstream.aggregator.query.QueryBudget;
import dev.stackstream.aggregator.query.QueryLimits;
import io.javalin.http.Context;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Connect protocol's unary calls over HTTP POST, for one protobuf service: the body is one bare
 * message, {@code application/proto} (binary) or {@code application/json} (the proto3 JSON
 * mapping), gzip-compressed when {@code Content-Encoding: gzip} says so; the answer uses the
 * request's codec and is gzipped whenever the client accepts gzip (Accept-Encoding, or a gzipped
 * request without one). A failure is a non-200 status with a JSON body
 * {@code {"code": "...", "message": "..."}}, the status being the one the protocol maps the code to
 * ({@link ConnectCode}); an unsupported codec is a bare 415. Each call runs in its own
 * {@link QueryBudget}: {@code Connect-Timeout-Ms} shortens the server's query timeout (never lengthens
 * it), and a call past its deadline fails with {@code deadline_exceeded}; the answer must fit the
 * response limit ({@code resource_exhausted} beyond).
 */
public final class ConnectHandler {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectHandler.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Largest request body accepted, compressed or not (requests are a few selectors and numbers). */
    static final int MAX_REQUEST_BYTES = 1 << 20;
    private static final Pattern TIMEOUT = Pattern.compile("[0-9]{1,10}");
    private static final JsonFormat.Parser JSON_IN = JsonFormat.parser().ignoringUnknownFields();
    private static final JsonFormat.Printer JSON_OUT = JsonFormat.printer().omittingInsignificantWhitespace();

    /** One unary procedure: how to read its request and what answers it. */
    public record Procedure<Q extends Message>(Q requestPrototype, Function<Q, ? extends Message> call) {
        @SuppressWarnings("unchecked")
        Message invoke(Message request) {
            return call.apply((Q) request);
        }
    }

    private final String service;
    private final Map<String, Procedure<?>> procedures;

    /**
     * @param service the fully qualified service name, e.g. {@code querier.v1.QuerierService}
     * @param procedures method name to procedure
     */
    public ConnectHandler(String service, Map<String, Procedure<?>> procedures) {
        this.service = service;
        this.procedures = Map.copyOf(procedures);
    }

    /** The route the handler serves (a Javalin path with a {method} parameter). */
    public String path() {
        return "/" + service + "/{method}";
    }

    /** The metric name of a call: the method when it exists (so unknown paths add no series). */
    public String endpoint(Context ctx) {
        String m = ctx.pathParam("method");
        return procedures.containsKey(m) ? service + "/" + m : service + "/unknown";
    }

    /**
     * Answers one call within the limits (the deadline shortened by the call's Connect-Timeout-Ms);
     * unauthenticated when the caller's credentials were refused.
     *
     * @return the HTTP status sent
     */
    public int handle(Context ctx, boolean authorized, QueryLimits limits) throws IOException {
        Codec codec = Codec.of(ctx.header("Content-Type"));
        if (codec == null) {
            ctx.status(415);
            ctx.header("Accept-Post", "application/proto, application/json");
            ctx.result(new byte[0]);
            return 415;
        }
        try {
            if (!authorized) {
                // Read (bounded) before refusing: an answer sent while the client still writes its
                // request lets the server close the connection under it, and the client reads the
                // reset as Internal rather than the refusal (seen in CI, call without a token).
                try (InputStream in = ctx.req().getInputStream()) {
                    bounded(in, "request body");
                }
                throw new ConnectException(ConnectCode.UNAUTHENTICATED,
                        "missing or wrong bearer token (Authorization: Bearer <token>)");
            }
            Duration timeout = checkHeaders(ctx);
            Procedure<?> procedure = procedures.get(ctx.pathParam("method"));
            if (procedure == null) {
                throw new ConnectException(ConnectCode.UNIMPLEMENTED, service + "/" + ctx.pathParam("method")
                        + " is not implemented (methods: " + String.join(", ", new java.util.TreeSet<>(procedures.keySet()))
                        + ")");
            }
            Message request = codec.read(body(ctx), procedure.requestPrototype());
            byte[] out;
            try (QueryBudget.Scope scope = QueryBudget.enter(limits, timeout)) {
                QueryBudget budget = QueryBudget.current();
                // Checked before and after: a call whose work never reaches a bucket walk (or that
                // finishes just late) still answers deadline_exceeded, as the client has given up.
                budget.checkDeadline("starting " + ctx.pathParam("method"));
                Message answer = procedure.invoke(request);
                budget.checkDeadline("answering " + ctx.pathParam("method"));
                out = codec.write(answer);
                budget.checkResponseBytes(out.length);
            }
            ctx.status(200);
            ctx.contentType(codec.mediaType);
            if (acceptsGzip(ctx)) {
                ctx.header("Content-Encoding", "gzip");
                out = gzip(out);
            }
            ctx.result(out);
            return 200;
        } catch (ConnectException e) {
            return error(ctx, e.code(), e.getMessage());
        } catch (ApiException e) {
            ConnectException c = ConnectException.of(e);
            return error(ctx, c.code(), c.getMessage());
        } catch (InvalidStateStoreException e) {
            return error(ctx, ConnectCode.UNAVAILABLE, "state is not queryable right now (" + e.getMessage()
                    + "); retry shortly");
        } catch (RuntimeException e) {
            LOG.error("{} failed", ctx.path(), e);
            return error(ctx, ConnectCode.INTERNAL, "internal error: " + e);
        }
    }

    /** Checks the protocol headers; returns the call's timeout (null when it sent none). */
    private static Duration checkHeaders(Context ctx) {
        String version = ctx.header("Connect-Protocol-Version");
        if (version != null && !version.trim().equals("1")) {
            throw new ConnectException(ConnectCode.INVALID_ARGUMENT, "Connect-Protocol-Version '" + version
                    + "' is not supported (1 is)");
        }
        String timeout = ctx.header("Connect-Timeout-Ms");
        if (timeout != null && !TIMEOUT.matcher(timeout.trim()).matches()) {
            throw new ConnectException(ConnectCode.INVALID_ARGUMENT, "Connect-Timeout-Ms '" + timeout
                    + "' is not a positive integer of at most 10 digits");
        }
        Duration deadline = timeout == null ? null : Duration.ofMillis(Long.parseLong(timeout.trim()));
        String encoding = ctx.header("Content-Encoding");
        if (encoding != null && !encoding.isBlank()) {
            String e = encoding.trim().toLowerCase(Locale.ROOT);
            if (!e.equals("gzip") && !e.equals("identity")) {
                throw new ConnectException(ConnectCode.UNIMPLEMENTED, "Content-Encoding '" + encoding
                        + "' is not supported (gzip, identity are)");
            }
        }
        return deadline;
    }

    /** The request body, decompressed, at most {@link #MAX_REQUEST_BYTES} either way. */
    private static byte[] body(Context ctx) throws IOException {
        byte[] raw;
        try (InputStream in = ctx.req().getInputStream()) {
            raw = bounded(in, "request body");
        }
        String encoding = ctx.header("Content-Encoding");
        if (raw.length == 0 || encoding == null || !encoding.trim().equalsIgnoreCase("gzip")) {
            return raw;
        }
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(raw))) {
            return bounded(in, "decompressed request body");
        } catch (ZipException | java.io.EOFException e) {
            throw new ConnectException(ConnectCode.INVALID_ARGUMENT, "the request body is not valid gzip: "
                    + e.getMessage());
        }
    }

    private static byte[] bounded(InputStream in, String what) throws IOException {
        byte[] b = in.readNBytes(MAX_REQUEST_BYTES + 1);
        if (b.length > MAX_REQUEST_BYTES) {
            throw new ConnectException(ConnectCode.RESOURCE_EXHAUSTED, what + " exceeds " + MAX_REQUEST_BYTES
                    + " bytes");
        }
        return b;
    }

    /** Accept-Encoding read as the protocol's ordered list (quality values other than 0 ignored). */
    private static boolean acceptsGzip(Context ctx) {
        String accept = ctx.header("Accept-Encoding");
        if (accept == null) {
            String sent = ctx.header("Content-Encoding");
            return sent != null && sent.trim().equalsIgnoreCase("gzip");
        }
        for (String part : accept.split(",")) {
            String[] p = part.trim().split(";");
            if (p[0].trim().equalsIgnoreCase("gzip")) {
                return p.length < 2 || !p[1].replace(" ", "").matches("q=0(\\.0*)?");
            }
        }
        return false;
    }

    private static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length / 4 + 64);
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 8192)) {
            gz.write(b);
        }
        return out.toByteArray();
    }

    private static int error(Context ctx, ConnectCode code, String message) throws IOException {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("code", code.wireName());
        body.put("message", message);
        ctx.status(code.httpStatus());
        ctx.contentType("application/json");
        ctx.result(JSON.writeValueAsBytes(body));
        return code.httpStatus();
    }

    /** The two codecs of the protocol's unary calls. */
    private enum Codec {
        PROTO("application/proto"),
        JSON("application/json");

        final String mediaType;

        Codec(String mediaType) {
            this.mediaType = mediaType;
        }

        static Codec of(String contentType) {
            if (contentType == null) {
                return null;
            }
            String base = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
            return switch (base) {
                case "application/proto" -> PROTO;
                case "application/json" -> JSON;
                default -> null;
            };
        }

        Message read(byte[] body, Message prototype) {
            try {
                if (this == PROTO) {
                    return prototype.getParserForType().parseFrom(body);
                }
                Message.Builder b = prototype.newBuilderForType();
                if (body.length > 0) {
                    JSON_IN.merge(new String(body, StandardCharsets.UTF_8), b);
                }
                return b.build();
            } catch (InvalidProtocolBufferException e) {
                throw new ConnectException(ConnectCode.INVALID_ARGUMENT, "the request is not a valid "
                        + prototype.getDescriptorForType().getFullName() + " (" + mediaType + "): " + e.getMessage());
            }
        }

        byte[] write(Message m) {
            if (this == PROTO) {
                return m.toByteArray();
            }
            try {
                return JSON_OUT.print(m).getBytes(StandardCharsets.UTF_8);
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException("an answer that cannot be printed as JSON: " + e.getMessage(), e);
            }
        }
    }
}
