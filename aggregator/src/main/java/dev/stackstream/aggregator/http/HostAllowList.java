package dev.stackstream.aggregator.http;

import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code Host} names a request may carry ({@code --allowed-hosts}), the defence against DNS
 * rebinding: a web page on another site that makes its own name resolve to this aggregator's
 * address can send requests the browser thinks are same-origin, and with no token (the default on
 * 127.0.0.1) nothing else would stop it reading profiles. Such a request carries the attacker's
 * name in {@code Host}, which this list refuses (421).
 *
 * <p>An empty list allows every host (the check is off). Entries are host names or addresses,
 * compared case-insensitively without the port; {@code *.example.com} allows subdomains. The
 * aggregator's own peers address each other by their advertised host, which must be on the list.
 */
final class HostAllowList {
    private final Set<String> exact = new TreeSet<>();
    private final Set<String> suffixes = new TreeSet<>();

    HostAllowList(Set<String> hosts) {
        for (String h : hosts) {
            String n = h.trim().toLowerCase(Locale.ROOT);
            if (n.isEmpty()) {
                continue;
            }
            if (n.startsWith("*.")) {
                suffixes.add(n.substring(1));
            } else {
                exact.add(n);
            }
        }
    }

    boolean enabled() {
        return !exact.isEmpty() || !suffixes.isEmpty();
    }

    /** True when the Host header's name (port removed, IPv6 brackets kept) is allowed. */
    boolean allows(String hostHeader) {
        if (!enabled()) {
            return true;
        }
        if (hostHeader == null || hostHeader.isBlank()) {
            return false;
        }
        String h = hostHeader.trim().toLowerCase(Locale.ROOT);
        int colon = h.lastIndexOf(':');
        if (colon > h.lastIndexOf(']')) {
            h = h.substring(0, colon);
        }
        if (exact.contains(h)) {
            return true;
        }
        for (String s : suffixes) {
            if (h.endsWith(s) && h.length() > s.length()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return enabled() ? String.join(",", exact) + (suffixes.isEmpty() ? "" : "," + "*" + String.join(",*", suffixes))
                : "(any)";
    }
}
