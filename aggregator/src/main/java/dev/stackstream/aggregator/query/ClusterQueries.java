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
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.common.TopicPartition;
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
    /** Internal fan-out routes (under the same auth as the public API). */
    public static final String PARTIAL_PATH = "/api/v1/internal/partial";
    public static final String SERIES_PATH = "/api/v1/internal/series";
    /** Parameter of {@link #PARTIAL_PATH}: the samples partitions (comma-separated) the asker wants from this instance. */
    public static final String PARTITIONS_PARAMETER = "partitions";

    private static final ObjectMapper JSON = new ObjectMapper();
    /** A peer that takes longer is treated as gone for this query (its partitions then come from a standby, or 503). */
    private static final Duration PEER_TIMEOUT = Duration.ofSeconds(10);
    private final KafkaStreams streams;
    private final LocalQueries local;
    private final CaughtUpStandbys standbys;
    private final HostInfo self;
    private final String peerToken;
    private final String samplesTopic;
    private final int partitionCount;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    /**
     * @param standbys which standby replicas here may stand in for a lost owner
     * @param peerToken what this instance presents to its peers' internal routes (null: nothing)
     * @param samplesTopic the samples topic, whose partitions an answer must cover
     * @param partitionCount its partitions at start
     */
    public ClusterQueries(KafkaStreams streams, LocalQueries local, CaughtUpStandbys standbys, HostInfo self,
                          String peerToken, String samplesTopic, int partitionCount) {
        this.streams = streams;
        this.local = local;
        this.standbys = standbys;
        this.self = self;
        this.peerToken = peerToken;
        this.samplesTopic = samplesTopic;
        this.partitionCount = partitionCount;
    }

    public LocalQueries local() {
        return local;
    }

    /** The samples partitions each other instance is active for, by the Streams metadata. */
    private Map<HostInfo, TreeSet<Integer>> peerPartitions() {
        Map<HostInfo, TreeSet<Integer>> out = new LinkedHashMap<>();
        for (StreamsMetadata md : streams.streamsMetadataForStore(StoreNames.SERIES)) {
            if (md.hostInfo().equals(self)) {
                continue;
            }
            TreeSet<Integer> owned = new TreeSet<>();
            for (TopicPartition tp : md.topicPartitions()) {
                if (tp.topic().equals(samplesTopic)) {
                    owned.add(tp.partition());
                }
            }
            if (!owned.isEmpty()) {
                out.put(md.hostInfo(), owned);
            }
        }
        return out;
    }

    /**
     * The whole answer, or a 503: every samples partition is read exactly once, here when active
     * here, else by the instance the metadata names (asked for exactly those partitions; its answer
     * says which it still had), else from a caught-up standby held here. A partition nobody
     * answered for (an instance gone, no caught-up standby here, a rebalance in flight) makes the
     * answer incomplete, and an incomplete answer is never a 200.
     */
    public PartialResult partial(QuerySpec spec) {
        TreeSet<Integer> mine = local.localPartitions();
        Map<HostInfo, TreeSet<Integer>> owners = peerPartitions();
        List<HostInfo> peers = new ArrayList<>();
        List<CompletableFuture<PeerAnswer>> remote = new ArrayList<>();
        for (Map.Entry<HostInfo, TreeSet<Integer>> e : owners.entrySet()) {
            e.getValue().removeAll(mine);
            if (!e.getValue().isEmpty()) {
                peers.add(e.getKey());
                remote.add(send(e.getKey(), PARTIAL_PATH + "?" + spec.toQueryString() + "&" + PARTITIONS_PARAMETER
                        + "=" + join(e.getValue())));
            }
        }
        PartialResult result = local.partial(spec, mine, false);
        TreeSet<Integer> missing = allPartitions();
        missing.removeAll(result.partitions());
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < remote.size(); i++) {
            HostInfo peer = peers.get(i);
            try {
                PartialResult part = PartialResult.decode(await(peer, remote.get(i)));
                TreeSet<Integer> asked = owners.get(peer);
                if (!asked.containsAll(part.partitions()) || !missing.containsAll(part.partitions())) {
                    throw new IOException("it answered for partitions " + part.partitions() + ", asked for " + asked);
                }
                result.merge(part);
                missing.removeAll(part.partitions());
            } catch (ApiException e) {
                rethrowUnlessUnavailable(e);
                failures.add(peer + ": " + e.getMessage());
            } catch (IOException | RuntimeException e) {
                failures.add(peer + ": " + e.getMessage());
            }
        }
        if (!missing.isEmpty()) {
            TreeSet<Integer> standby = standbys.of(missing);
            if (!standby.isEmpty()) {
                result.merge(local.partial(spec, standby, true));
                missing.removeAll(standby);
            }
        }
        if (!missing.isEmpty()) {
            throw ApiException.unavailable("no complete answer: samples partition(s) " + missing + " have no reachable"
                    + " owner and no caught-up standby here" + (failures.isEmpty() ? "" : " (" + String.join("; ", failures)
                    + ")") + "; retry shortly", null);
        }
        return result;
    }

    /** The part of a query a peer asked this instance for ({@link #PARTITIONS_PARAMETER}; absent = all active here). */
    public PartialResult localPart(QuerySpec spec, String partitions) {
        if (partitions == null || partitions.isBlank()) {
            return local.partial(spec);
        }
        TreeSet<Integer> wanted = new TreeSet<>();
        for (String p : partitions.split(",", 100_000)) {
            try {
                wanted.add(Integer.parseInt(p.trim()));
            } catch (NumberFormatException e) {
                throw ApiException.badParameter(PARTITIONS_PARAMETER, "'" + p + "' is not a partition number");
            }
        }
        return local.partial(spec, wanted, false);
    }

    /** Every partition of the samples topic: as many as it had at start, or more if the metadata shows more. */
    private TreeSet<Integer> allPartitions() {
        int n = partitionCount;
        for (StreamsMetadata md : streams.metadataForAllStreamsClients()) {
            for (TopicPartition tp : md.topicPartitions()) {
                if (tp.topic().equals(samplesTopic)) {
                    n = Math.max(n, tp.partition() + 1);
                }
            }
        }
        TreeSet<Integer> out = new TreeSet<>();
        for (int p = 0; p < n; p++) {
            out.add(p);
        }
        return out;
    }

    private static String join(TreeSet<Integer> partitions) {
        StringBuilder sb = new StringBuilder();
        for (int p : partitions) {
            sb.append(sb.length() == 0 ? "" : ",").append(p);
        }
        return sb.toString();
    }

    /**
     * Every series of the cluster (newest last-seen per identical series). A peer that does not
     * answer is replaced by the caught-up standbys of its partitions held here, or the answer is a 503.
     */
    public List<Series.Stored> series() {
        TreeSet<Integer> mine = local.localPartitions();
        Map<HostInfo, TreeSet<Integer>> owners = peerPartitions();
        List<HostInfo> peers = new ArrayList<>(owners.keySet());
        List<CompletableFuture<PeerAnswer>> remote = new ArrayList<>();
        for (HostInfo peer : peers) {
            remote.add(send(peer, SERIES_PATH));
        }
        Map<Series, Series.Stored> all = new LinkedHashMap<>();
        for (Series.Stored s : local.series()) {
            all.merge(s.series(), s, ClusterQueries::newer);
        }
        TreeSet<Integer> missing = allPartitions();
        missing.removeAll(mine);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < remote.size(); i++) {
            try {
                for (JsonNode n : JSON.readTree(await(peers.get(i), remote.get(i)))) {
                    Map<String, String> labels = new TreeMap<>();
                    n.get("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
                    Series s = Series.of(n.get("service").asText(), n.get("type").asText(), n.get("unit").asText(),
                            n.get("period").asLong(), labels);
                    all.merge(s, new Series.Stored(s, n.get("lastSeenMillis").asLong()), ClusterQueries::newer);
                }
                missing.removeAll(owners.get(peers.get(i)));
            } catch (ApiException e) {
                rethrowUnlessUnavailable(e);
                failures.add(peers.get(i) + ": " + e.getMessage());
            } catch (IOException | RuntimeException e) {
                failures.add(peers.get(i) + ": " + e.getMessage());
            }
        }
        if (!missing.isEmpty()) {
            TreeSet<Integer> standby = standbys.of(missing);
            for (Series.Stored s : local.series(standby, true)) {
                all.merge(s.series(), s, ClusterQueries::newer);
            }
            missing.removeAll(standby);
        }
        if (!missing.isEmpty()) {
            throw ApiException.unavailable("no complete series list: samples partition(s) " + missing + " have no"
                    + " reachable owner and no caught-up standby here" + (failures.isEmpty() ? ""
                    : " (" + String.join("; ", failures) + ")") + "; retry shortly", null);
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

    /** A query over its deadline or response limit fails as such; only an unreachable peer is replaced. */
    private static void rethrowUnlessUnavailable(ApiException e) {
        if (e.status() != 503) {
            throw e;
        }
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
                .timeout(Duration.ofMillis(Math.min(PEER_TIMEOUT.toMillis(), budget.remainingMillis()))).GET();
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
