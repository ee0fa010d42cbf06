package dev.stackstream.aggregator.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.aggregator.engine.Series;
import dev.stackstream.aggregator.engine.StoreNames;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsMetadata;
import org.apache.kafka.streams.state.HostInfo;

/**
 * A query's full answer from any instance: this instance's partitions are read locally, every other
 * instance that owns samples partitions (from the Streams metadata, i.e. application.server) is
 * asked over HTTP for its part, in parallel, and the parts are summed.
 *
 * <p>Why fan out instead of repartitioning by series: the ingest must stay keyed by collector id
 * (dedup of replays needs one collector's windows in one task), and a repartition would write and
 * read every count a second time under the transaction. Partial profiles are sums, so merging them
 * is cheap, and queries are rare compared with ingest.
 */
public final class ClusterQueries {
    /**
     * Internal fan-out routes: peers authenticate with the internal token (or, without one, the
     * public bearer token); see {@code http.RequestAuth}.
     */
    public static final String PARTIAL_PATH = "/api/v1/internal/partial";
    public static final String SERIES_PATH = "/api/v1/internal/series";

    private static final ObjectMapper JSON = new ObjectMapper();
    private final KafkaStreams streams;
    private final LocalQueries local;
    private final HostInfo self;
    private final String peerToken;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** peerToken: what this instance presents to its peers' internal routes (null: nothing). */
    public ClusterQueries(KafkaStreams streams, LocalQueries local, HostInfo self, String peerToken) {
        this.streams = streams;
        this.local = local;
        this.self = self;
        this.peerToken = peerToken;
    }

    public LocalQueries local() {
        return local;
    }

    /** Instances other than this one that own at least one samples partition. */
    private List<HostInfo> peers() {
        List<HostInfo> out = new ArrayList<>();
        for (StreamsMetadata md : streams.streamsMetadataForStore(StoreNames.SERIES)) {
            if (!md.hostInfo().equals(self) && !md.topicPartitions().isEmpty()) {
                out.add(md.hostInfo());
            }
        }
        return out;
    }

    public PartialResult partial(QuerySpec spec) {
        List<CompletableFuture<PeerAnswer>> remote = new ArrayList<>();
        List<HostInfo> peers = peers();
        for (HostInfo peer : peers) {
            remote.add(send(peer, PARTIAL_PATH + "?" + spec.toQueryString()));
        }
        PartialResult result = local.partial(spec);
        for (int i = 0; i < remote.size(); i++) {
            byte[] body = await(peers.get(i), remote.get(i));
            try {
                result.merge(PartialResult.decode(body));
            } catch (IOException | RuntimeException e) {
                throw ApiException.unavailable("instance " + peers.get(i) + " sent an unreadable partial result: " + e, e);
            }
        }
        return result;
    }

    /** Every series of the cluster (newest last-seen per identical series). */
    public List<Series.Stored> series() {
        List<HostInfo> peers = peers();
        List<CompletableFuture<PeerAnswer>> remote = new ArrayList<>();
        for (HostInfo peer : peers) {
            remote.add(send(peer, SERIES_PATH));
        }
        Map<Series, Series.Stored> all = new LinkedHashMap<>();
        for (Series.Stored s : local.series()) {
            all.merge(s.series(), s, ClusterQueries::newer);
        }
        for (int i = 0; i < remote.size(); i++) {
            byte[] body = await(peers.get(i), remote.get(i));
            try {
                for (JsonNode n : JSON.readTree(body)) {
                    Map<String, String> labels = new TreeMap<>();
                    n.get("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
                    Series s = Series.of(n.get("service").asText(), n.get("type").asText(), n.get("unit").asText(),
                            n.get("period").asLong(), labels);
                    all.merge(s, new Series.Stored(s, n.get("lastSeenMillis").asLong()), ClusterQueries::newer);
                }
            } catch (IOException | RuntimeException e) {
                throw ApiException.unavailable("instance " + peers.get(i) + " sent an unreadable series list: " + e, e);
            }
        }
        return new ArrayList<>(all.values());
    }

    /** JSON form of local series for {@link #SERIES_PATH}. */
    public static byte[] seriesJson(List<Series.Stored> series) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Series.Stored s : series) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("service", s.series().service());
            m.put("type", s.series().type());
            m.put("unit", s.series().unit());
            m.put("period", s.series().period());
            m.put("labels", s.series().labels());
            m.put("lastSeenMillis", s.lastSeenMillis());
            out.add(m);
        }
        return JSON.writeValueAsBytes(out);
    }

    private static Series.Stored newer(Series.Stored a, Series.Stored b) {
        return a.lastSeenMillis() >= b.lastSeenMillis() ? a : b;
    }

    /**
     * Asks a peer, within what is left of this query's deadline (the peer is told the same, so it
     * stops its own walk in time), reading at most the response limit of its answer.
     */
    private CompletableFuture<PeerAnswer> send(HostInfo peer, String pathAndQuery) {
        QueryBudget budget = QueryBudget.current();
        String sep = pathAndQuery.contains("?") ? "&" : "?";
        String timeout = budget.limited() ? sep + "timeout=" + budget.remainingMillis() + "ms" : "";
        HttpRequest.Builder req = HttpRequest.newBuilder(
                URI.create("http://" + peer.host() + ":" + peer.port() + pathAndQuery + timeout))
                .timeout(Duration.ofMillis(Math.min(30_000, budget.remainingMillis()))).GET();
        if (peerToken != null) {
            req.header("Authorization", "Bearer " + peerToken);
        }
        long limit = budget.maxResponseBytes();
        return http.sendAsync(req.build(), HttpResponse.BodyHandlers.ofInputStream()).thenApply(r -> {
            try (var in = r.body()) {
                byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
                if (body.length > limit) {
                    throw ResponseLimit.tooLarge(limit);
                }
                return new PeerAnswer(r.statusCode(), body);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    private static byte[] await(HostInfo peer, CompletableFuture<PeerAnswer> f) {
        QueryBudget budget = QueryBudget.current();
        try {
            PeerAnswer r = f.get(budget.remainingNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
            if (r.statusCode() == 504 || r.statusCode() == 422) {
                // The peer ran out of this query's budget: say so, not "unavailable".
                String m = "instance " + peer + ": " + new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
                throw r.statusCode() == 504 ? ApiException.deadlineExceeded(m) : ApiException.tooLarge(m);
            }
            if (r.statusCode() != 200) {
                throw ApiException.unavailable("instance " + peer + " answered " + r.statusCode() + ": "
                        + new String(r.body(), java.nio.charset.StandardCharsets.UTF_8), null);
            }
            return r.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("interrupted while waiting for instance " + peer, e);
        } catch (java.util.concurrent.TimeoutException e) {
            f.cancel(true);
            budget.checkDeadline("waiting for instance " + peer);
            throw ApiException.unavailable("instance " + peer + " did not answer in time", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ApiException a) {
                throw a;
            }
            if (e.getCause() instanceof java.net.http.HttpTimeoutException) {
                budget.checkDeadline("waiting for instance " + peer);
            }
            throw ApiException.unavailable("instance " + peer + " did not answer: " + e.getCause(), e);
        }
    }

    /** A peer's status and body, the body read within the response limit. */
    private record PeerAnswer(int statusCode, byte[] body) { }
}
