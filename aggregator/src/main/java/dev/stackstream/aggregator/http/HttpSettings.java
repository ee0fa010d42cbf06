package dev.stackstream.aggregator.http;

import dev.stackstream.aggregator.query.QueryLimits;
import java.util.Objects;
import java.util.Set;

/**
 * How the HTTP side listens and whom it serves.
 *
 * @param host address to bind
 * @param port port (0 = any free one)
 * @param authToken bearer token of the public API, or null for none
 * @param internalToken token peers present on the internal fan-out routes, or null to use authToken
 * @param allowedHosts Host header names accepted (empty = any; see {@link HostAllowList})
 * @param queryLimits deadline and response bound of each query
 */
public record HttpSettings(String host, int port, String authToken, String internalToken, Set<String> allowedHosts,
                           QueryLimits queryLimits) {
    public HttpSettings {
        Objects.requireNonNull(host, "host");
        allowedHosts = Set.copyOf(allowedHosts);
        Objects.requireNonNull(queryLimits, "queryLimits");
    }

    /** What this instance presents to its peers' internal routes: the internal token, else the bearer token. */
    public String peerToken() {
        return internalToken != null ? internalToken : authToken;
    }
}
