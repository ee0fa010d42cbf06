package dev.stackstream.aggregator.http;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.profile.render.Renderers;
import io.javalin.http.Context;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The security headers every response carries: {@code X-Content-Type-Options: nosniff} (a profile
 * named like HTML is never sniffed into a page), {@code Referrer-Policy: no-referrer} (query
 * strings name services and labels), and a Content-Security-Policy with
 * {@code frame-ancestors 'none'} (no other site frames the UI to click through it).
 *
 * <p>The UI page's policy allows only its own inline script and the flame graph's, by SHA-256
 * hash: the flame graph is shown in an {@code <iframe sandbox="allow-scripts" srcdoc>}, whose
 * document inherits the page's policy. Every other response (JSON, profiles) gets a policy that
 * loads nothing, and the interactive formats (HTML, SVG) opened on their own are sandboxed by it
 * ({@code sandbox allow-scripts}: an opaque origin, so their scripts never reach the API with the
 * user's credentials).
 */
final class SecurityHeaders {
    private static final Pattern INLINE_SCRIPT = Pattern.compile("<script>(.*?)</script>", Pattern.DOTALL);
    private static final String COMMON = "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    /** JSON, text, binary: nothing to load or run. */
    static final String API_POLICY = "default-src 'none'; sandbox" + COMMON;
    /** A flame graph (HTML, SVG) opened on its own: its inline script runs in an opaque origin. */
    static final String PROFILE_POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';"
            + " img-src data:; sandbox allow-scripts" + COMMON;

    private final String uiPolicy;

    /** Builds the UI's policy from the hashes of the UI page's inline scripts and the flame graph's. */
    SecurityHeaders(String uiHtml) {
        Set<String> hashes = new LinkedHashSet<>(scriptHashes(uiHtml));
        hashes.addAll(scriptHashes(flameGraphHtml()));
        this.uiPolicy = "default-src 'none'; script-src " + String.join(" ", hashes)
                + "; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'" + COMMON;
    }

    /** Sets the headers on a response; the UI page gets its own policy, profiles theirs. */
    void apply(Context ctx, boolean uiPage, boolean interactiveProfile) {
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "no-referrer");
        ctx.header("X-Frame-Options", "DENY");
        ctx.header("Content-Security-Policy", uiPage ? uiPolicy : interactiveProfile ? PROFILE_POLICY : API_POLICY);
    }

    String uiPolicy() {
        return uiPolicy;
    }

    /** The 'sha256-...' sources of every executable inline script of a page. */
    static Set<String> scriptHashes(String html) {
        Set<String> out = new LinkedHashSet<>();
        Matcher m = INLINE_SCRIPT.matcher(html);
        while (m.find()) {
            try {
                byte[] d = MessageDigest.getInstance("SHA-256").digest(m.group(1).getBytes(StandardCharsets.UTF_8));
                out.add("'sha256-" + Base64.getEncoder().encodeToString(d) + "'");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("every JVM has SHA-256", e);
            }
        }
        return out;
    }

    /** The flame graph page of an empty profile: its script is the same for every profile. */
    private static String flameGraphHtml() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            Renderers.byFormat("html").orElseThrow().render(Profile.builder(ProfileType.cpu(99)).build(),
                    RenderOptions.defaults(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
