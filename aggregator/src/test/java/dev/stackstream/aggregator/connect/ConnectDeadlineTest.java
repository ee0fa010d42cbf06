package dev.stackstream.aggregator.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.aggregator.connect.proto.ProfileType;
import dev.stackstream.aggregator.connect.proto.ProfileTypesRequest;
import dev.stackstream.aggregator.connect.proto.ProfileTypesResponse;
import dev.stackstream.aggregator.query.QueryBudget;
import dev.stackstream.aggregator.query.QueryLimits;
import io.javalin.Javalin;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Connect-Timeout-Ms shortens the call's query deadline (never lengthens the server's), and a call
 * past it answers deadline_exceeded; the answer is held to the response limit. The clock is a
 * ticker the procedure advances, as a slow bucket walk would (no sleeps); the server is a real
 * Javalin on loopback.
 */
class ConnectDeadlineTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final long MS = 1_000_000L;

    private final AtomicLong ticker = new AtomicLong(1_000 * MS);
    /** How long the procedure's work takes on the ticker. */
    private final AtomicLong workNanos = new AtomicLong();
    /** The budget the procedure ran in (what a query below it would see). */
    private final AtomicReference<Long> remainingAtStart = new AtomicReference<>();
    private final AtomicLong answerTypes = new AtomicLong(1);
    private Javalin app;

    @BeforeEach
    void start() {
        QueryLimits limits = new QueryLimits(Duration.ofSeconds(10), 4096, ticker::get);
        ConnectHandler handler = new ConnectHandler(GrafanaQuerier.SERVICE, Map.of("ProfileTypes",
                new ConnectHandler.Procedure<>(ProfileTypesRequest.getDefaultInstance(), req -> {
                    remainingAtStart.set(QueryBudget.current().remainingNanos());
                    ticker.addAndGet(workNanos.get());
                    // What the bucket walk does between buckets.
                    QueryBudget.current().checkDeadline("walking buckets");
                    ProfileTypesResponse.Builder b = ProfileTypesResponse.newBuilder();
                    for (long i = 0; i < answerTypes.get(); i++) {
                        b.addProfileTypes(ProfileType.newBuilder().setID("type-" + i + ":cpu:nanoseconds:cpu:nanoseconds"));
                    }
                    return b.build();
                })));
        app = Javalin.create(config -> {
            config.jetty.host = "127.0.0.1";
            config.jetty.port = 0;
            config.startup.showJavalinBanner = false;
            config.routes.post(handler.path(), ctx -> handler.handle(ctx, true, limits));
        });
        app.start();
    }

    @AfterEach
    void stop() {
        app.stop();
    }

    private HttpResponse<String> call(String timeoutMs) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + "/"
                        + GrafanaQuerier.SERVICE + "/ProfileTypes"))
                .header("Content-Type", "application/json").header("Connect-Protocol-Version", "1")
                .POST(HttpRequest.BodyPublishers.ofString("{}"));
        if (timeoutMs != null) {
            b.header("Connect-Timeout-Ms", timeoutMs);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void assertCode(HttpResponse<String> r, int status, String code, String inMessage) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode body = new ObjectMapper().readTree(r.body());
        assertEquals(code, body.get("code").asText(), r.body());
        assertTrue(body.get("message").asText().contains(inMessage), r.body());
    }

    @Test
    void theHeaderShortensTheDeadline() throws Exception {
        workNanos.set(2_000 * MS);
        assertEquals(200, call(null).statusCode(), "2 s of work within the server's 10 s");
        assertEquals(10_000 * MS, remainingAtStart.get());
        assertEquals(200, call("5000").statusCode(), "2 s of work within the client's 5 s");
        assertEquals(5_000 * MS, remainingAtStart.get(), "the query below sees the client's deadline");

        assertCode(call("1500"), 504, "deadline_exceeded", "walking buckets");
        assertCode(call("1999"), 504, "deadline_exceeded", "deadline of 1999ms");
    }

    @Test
    void theHeaderCannotLengthenTheServersTimeout() throws Exception {
        workNanos.set(11_000 * MS);
        assertCode(call("60000"), 504, "deadline_exceeded", "--query-timeout");
        assertEquals(10_000 * MS, remainingAtStart.get());
    }

    @Test
    void aZeroTimeoutHasAlreadyExpired() throws Exception {
        remainingAtStart.set(-1L);
        assertCode(call("0"), 504, "deadline_exceeded", "starting ProfileTypes");
        assertEquals(-1L, remainingAtStart.get(), "the procedure never ran");
    }

    @Test
    void aMalformedTimeoutIsAnInvalidArgument() throws Exception {
        assertCode(call("-5"), 400, "invalid_argument", "Connect-Timeout-Ms");
        assertCode(call("12345678901"), 400, "invalid_argument", "Connect-Timeout-Ms");
    }

    @Test
    void anAnswerOverTheResponseLimitIsResourceExhausted() throws Exception {
        answerTypes.set(10);
        assertEquals(200, call(null).statusCode());
        answerTypes.set(500);
        assertCode(call(null), 429, "resource_exhausted", "response limit");
    }
}
