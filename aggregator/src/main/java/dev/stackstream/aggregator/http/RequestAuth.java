package dev.stackstream.aggregator.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Who may call which route. Public API routes need the bearer token when one is set. The internal
 * fan-out routes ({@code /api/v1/internal/...}) are for peers only: they need the internal token
 * when one is set ({@code --internal-token}), else the bearer token; so a user holding the public
 * token cannot call them once an internal token separates the two. With neither token, both are
 * open (the default bind address is 127.0.0.1). Comparisons take constant time.
 */
final class RequestAuth {
    static final String INTERNAL_PREFIX = "/api/v1/internal/";

    private final byte[] publicHeader;
    private final byte[] internalHeader;

    RequestAuth(String authToken, String internalToken) {
        this.publicHeader = header(authToken);
        byte[] internal = header(internalToken);
        this.internalHeader = internal != null ? internal : publicHeader;
    }

    private static byte[] header(String token) {
        return token == null || token.isEmpty() ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    }

    /** True when the request's Authorization header lets it call path. */
    boolean allows(String path, String authorization) {
        byte[] want = path.startsWith(INTERNAL_PREFIX) ? internalHeader : publicHeader;
        return want == null || authorization != null
                && MessageDigest.isEqual(want, authorization.getBytes(StandardCharsets.UTF_8));
    }


    String describe() {
        return (publicHeader == null ? "public API open" : "public API bearer token")
                + (internalHeader == null ? ", internal routes open"
                : internalHeader == publicHeader ? ", internal routes bearer token" : ", internal routes internal token");
    }
}
