package dev.stackstream.aggregator.query;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.stackstream.aggregator.engine.DurationText;
import dev.stackstream.aggregator.engine.Series;
import dev.stackstream.aggregator.engine.StackCounts;
import dev.stackstream.aggregator.engine.Tier;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.StackId;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The query API's logic, independent of HTTP: catalogue listings, merged profiles, diffs and
 * timelines. Requests come in parsed by {@link QueryParameters}; results are typed records (the
 * JSON bodies, serialized by Jackson in their declared field order) or a {@link Profile} for the
 * renderers. Every input problem is an {@link ApiException}.
 */
public final class QueryService {
    /** Timelines have at most this many points unless a step is given. */
    public static final int MAX_TIMELINE_POINTS = 1500;

    private final ClusterQueries cluster;
    private final StackDictionary dictionary;
    private final List<Tier> tiers;
    private final Clock clock;

    public QueryService(ClusterQueries cluster, StackDictionary dictionary, List<Tier> tiers, Clock clock) {
        this.cluster = cluster;
        this.dictionary = dictionary;
        this.tiers = tiers;
        this.clock = clock;
    }

    public Instant now() {
        return clock.instant();
    }

    /** One service: its profile type names, series count and last data time (RFC 3339). */
    @JsonPropertyOrder({"name", "profileTypes", "series", "lastSeen"})
    public record ServiceEntry(String name, SortedSet<String> profileTypes, int series, String lastSeen) { }

    /** The answer of {@code /api/v1/services}. */
    public record ServiceList(List<ServiceEntry> services) { }

    /** The answer of {@code /api/v1/profile-types}: sorted by name, then period. */
    public record ProfileTypeList(List<ProfileType> profileTypes) { }

    /** The answer of {@code /api/v1/labels}. */
    @JsonPropertyOrder({"service", "labels"})
    public record LabelNames(String service, List<String> labels) { }

    /** The answer of {@code /api/v1/labels/{name}/values}. */
    @JsonPropertyOrder({"service", "label", "values"})
    public record LabelValues(String service, String label, List<String> values) { }

    /** Services with their profile types, series count and last data time. */
    public ServiceList services() {
        Map<String, List<Series.Stored>> byService = new TreeMap<>();
        for (Series.Stored s : cluster.series()) {
            byService.computeIfAbsent(s.series().service(), k -> new ArrayList<>()).add(s);
        }
        List<ServiceEntry> out = new ArrayList<>();
        byService.forEach((name, list) -> out.add(new ServiceEntry(name,
                new TreeSet<>(list.stream().map(s -> s.series().type()).toList()), list.size(),
                Instant.ofEpochMilli(list.stream().mapToLong(Series.Stored::lastSeenMillis).max().orElse(0))
                        .toString())));
        return new ServiceList(out);
    }

    /** Profile types (name, unit, period) of one service, or of all when service is null. */
    public ProfileTypeList profileTypes(String service) {
        Set<ProfileType> seen = new TreeSet<>(Comparator.comparing(ProfileType::name)
                .thenComparingLong(ProfileType::period).thenComparing(ProfileType::unit));
        for (Series s : seriesOf(service)) {
            seen.add(new ProfileType(s.type(), s.unit(), s.period()));
        }
        return new ProfileTypeList(List.copyOf(seen));
    }

    /** Label names used by a service's series. */
    public LabelNames labelNames(String service) {
        TreeSet<String> names = new TreeSet<>();
        for (Series s : seriesOf(service)) {
            names.addAll(s.labels().keySet());
        }
        return new LabelNames(service, new ArrayList<>(names));
    }

    /** Values of one label (a checked name) across a service's series. */
    public LabelValues labelValues(String service, String name) {
        TreeSet<String> values = new TreeSet<>();
        for (Series s : seriesOf(service)) {
            String v = s.labels().get(name);
            if (v != null) {
                values.add(v);
            }
        }
        return new LabelValues(service, name, new ArrayList<>(values));
    }

    private List<Series> seriesOf(String service) {
        List<Series> out = new ArrayList<>();
        boolean any = false;
        for (Series.Stored s : cluster.series()) {
            if (service == null || s.series().service().equals(service)) {
                out.add(s.series());
                any = true;
            }
        }
        if (service != null && !any) {
            throw unknownService(service);
        }
        return out;
    }

    private static ApiException unknownService(String service) {
        return ApiException.notFound("unknown service '" + service + "': no collector has sent samples for it"
                + " (or they expired); see /api/v1/services");
    }

    /** A merged profile with the partial result it came from. */
    public record Answer(Profile profile, PartialResult partial, QuerySpec spec) { }

    /** Merged profile for the request. */
    public Answer profile(ProfileRequest r) {
        QuerySpec spec = r.spec(tiers, 0, tiers.size() - 1);
        PartialResult partial = cluster.partial(spec);
        return new Answer(assemble(r, partial), partial, spec);
    }

    /** The profile type the request names, as the service has it; 404 for an unknown service or type. */
    private static ProfileType resolveType(ProfileRequest r, PartialResult partial) {
        if (!partial.serviceKnown()) {
            throw unknownService(r.service());
        }
        return partial.serviceTypes().stream()
                .map(k -> k.split("/"))
                .filter(k -> k.length == 3 && k[0].equals(r.type()))
                .sorted(Comparator.comparing((String[] k) -> k[2]))
                .map(k -> new ProfileType(k[0], k[1], Long.parseLong(k[2])))
                .findFirst()
                .orElseThrow(() -> ApiException.notFound("service '" + r.service() + "' has no profile type '"
                        + r.type() + "' (it has " + partial.serviceTypes().stream().map(k -> k.split("/")[0])
                        .distinct().toList() + ")"));
    }

    private Profile assemble(ProfileRequest r, PartialResult partial) {
        ProfileType type = resolveType(r, partial);
        ProfileBuilder b = Profile.builder(type).timeRange(r.from(), r.to()).label("service", r.service());
        long[] span = partial.dataSpan();
        if (span != null) {
            // Elapsed time and rate describe the samples, not the range asked about.
            b.timeRange(max(r.from(), Instant.ofEpochMilli(span[0])), min(r.to(), Instant.ofEpochMilli(span[1])));
        }
        r.selector().equalities().forEach((k, v) -> {
            if (!k.equals(LabelSelector.THREAD)) {
                b.label(k, v);
            }
        });
        StackCounts counts = partial.counts();
        b.stats(counts.stats());
        for (var e : counts.entries().entrySet()) {
            StackCounts.Key k = e.getKey();
            b.add(dictionary.resolve(new StackId(k.stackHigh(), k.stackLow())), k.thread(), e.getValue()[0],
                    e.getValue()[1]);
        }
        return b.build();
    }

    private static Instant max(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    /** Sample counts per step (null: the finest tier giving at most {@value #MAX_TIMELINE_POINTS}) over the range. */
    public Timeline timeline(ProfileRequest r, Duration stepLength) {
        long range = r.to().toEpochMilli() - r.from().toEpochMilli();
        long step;
        int maxTier;
        if (stepLength != null) {
            step = stepLength.toMillis();
            if (step < tiers.get(0).sizeMillis() || step % tiers.get(0).sizeMillis() != 0) {
                throw ApiException.badParameter("step", "must be a multiple of the finest bucket ("
                        + tiers.get(0).name() + "), got " + DurationText.format(stepLength));
            }
            if (range / step > 20_000) {
                throw ApiException.badParameter("step", DurationText.format(stepLength)
                        + " gives more than 20000 points over this range");
            }
            maxTier = 0;
            for (int i = 0; i < tiers.size(); i++) {
                if (step % tiers.get(i).sizeMillis() == 0) {
                    maxTier = i;
                }
            }
        } else {
            maxTier = tiers.size() - 1;
            for (int i = 0; i < tiers.size(); i++) {
                if (range / tiers.get(i).sizeMillis() <= MAX_TIMELINE_POINTS) {
                    maxTier = i;
                    break;
                }
            }
            long size = tiers.get(maxTier).sizeMillis();
            long points = Math.max(1, (range + size - 1) / size);
            step = size * Math.max(1, (points + MAX_TIMELINE_POINTS - 1) / MAX_TIMELINE_POINTS);
        }
        QuerySpec spec = r.spec(tiers, step, maxTier);
        PartialResult partial = cluster.partial(spec);
        resolveType(r, partial);
        List<Timeline.Point> points = new ArrayList<>();
        long first = Math.floorDiv(spec.fromMillis(), step) * step;
        long total = 0;
        for (long t = first; t < spec.toMillis(); t += step) {
            long c = partial.timeline().getOrDefault(t, 0L);
            total += c;
            points.add(new Timeline.Point(t, c));
        }
        return new Timeline(r.service(), r.type(), r.selector().text(), Instant.ofEpochMilli(spec.fromMillis()).toString(),
                Instant.ofEpochMilli(spec.toMillis()).toString(), DurationText.format(Duration.ofMillis(step)), total,
                points);
    }

    /** Baseline and comparison profiles of a diff request. */
    public record DiffAnswer(ProfileRequest baselineRequest, Profile baseline, ProfileRequest comparisonRequest,
                             Profile comparison) { }

    /** The profiles of a diff: comparison and its baseline (see {@link QueryParameters#baseline}). */
    public DiffAnswer diff(ProfileRequest comparison, ProfileRequest baseline) {
        return new DiffAnswer(baseline, profile(baseline).profile(), comparison, profile(comparison).profile());
    }
}
