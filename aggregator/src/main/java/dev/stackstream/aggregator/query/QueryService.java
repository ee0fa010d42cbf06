package dev.stackstream.aggregator.query;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The query API's logic, independent of HTTP: catalogue listings, merged profiles, diffs and
 * timelines. Parameters come in as a name-to-value function; results are plain maps/lists for JSON
 * or a {@link Profile} for the renderers. Every input problem is an {@link ApiException}.
 */
public final class QueryService {
    /** Timelines have at most this many points unless a step is given. */
    public static final int MAX_TIMELINE_POINTS = 1500;
    private static final Pattern LABEL_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.\\-/]*");

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

    /** Services with their profile types, series count and last data time. */
    public List<Map<String, Object>> services() {
        Map<String, List<Series.Stored>> byService = new TreeMap<>();
        for (Series.Stored s : cluster.series()) {
            byService.computeIfAbsent(s.series().service(), k -> new ArrayList<>()).add(s);
        }
        List<Map<String, Object>> out = new ArrayList<>();
        byService.forEach((name, list) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("profileTypes", new TreeSet<>(list.stream().map(s -> s.series().type()).toList()));
            m.put("series", list.size());
            m.put("lastSeen", Instant.ofEpochMilli(list.stream().mapToLong(Series.Stored::lastSeenMillis).max()
                    .orElse(0)).toString());
            out.add(m);
        });
        return out;
    }

    /** Profile types (name, unit, period) of one service, or of all when service is null. */
    public List<Map<String, Object>> profileTypes(String service) {
        Set<List<Object>> seen = new java.util.LinkedHashSet<>();
        for (Series s : seriesOf(service, "service")) {
            seen.add(List.of(s.type(), s.unit(), s.period()));
        }
        List<Map<String, Object>> out = new ArrayList<>();
        seen.stream().sorted(Comparator.comparing((List<Object> l) -> l.get(0).toString())
                .thenComparing(l -> (Long) l.get(2))).forEach(l -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("name", l.get(0));
                    m.put("unit", l.get(1));
                    m.put("period", l.get(2));
                    out.add(m);
                });
        return out;
    }

    /** Label names used by a service's series (plus {@code thread}, matched per entry). */
    public List<String> labelNames(String service) {
        requireService(service);
        TreeSet<String> names = new TreeSet<>();
        for (Series s : seriesOf(service, "service")) {
            names.addAll(s.labels().keySet());
        }
        return new ArrayList<>(names);
    }

    /** Values of one label across a service's series. */
    public List<String> labelValues(String service, String name) {
        requireService(service);
        if (name == null || !LABEL_NAME.matcher(name).matches()) {
            throw ApiException.badParameter("name", "'" + name + "' is not a label name");
        }
        TreeSet<String> values = new TreeSet<>();
        for (Series s : seriesOf(service, "service")) {
            String v = s.labels().get(name);
            if (v != null) {
                values.add(v);
            }
        }
        return new ArrayList<>(values);
    }

    private static void requireService(String service) {
        if (service == null || service.isBlank()) {
            throw ApiException.badParameter("service", "is required (a service name, see /api/v1/services)");
        }
    }

    private List<Series> seriesOf(String service, String parameter) {
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

    /** Sample counts per step over the request's range (zero-filled). */
    public Map<String, Object> timeline(ProfileRequest r, String stepText) {
        long range = r.to().toEpochMilli() - r.from().toEpochMilli();
        long step;
        int maxTier;
        if (stepText != null && !stepText.isBlank()) {
            Duration d;
            try {
                d = DurationText.parse(stepText);
            } catch (IllegalArgumentException e) {
                throw ApiException.badParameter("step", e.getMessage());
            }
            step = d.toMillis();
            if (step < tiers.get(0).sizeMillis() || step % tiers.get(0).sizeMillis() != 0) {
                throw ApiException.badParameter("step", "must be a multiple of the finest bucket ("
                        + tiers.get(0).name() + "), got " + stepText);
            }
            if (range / step > 20_000) {
                throw ApiException.badParameter("step", stepText + " gives more than 20000 points over this range");
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
        List<Map<String, Object>> points = new ArrayList<>();
        long first = Math.floorDiv(spec.fromMillis(), step) * step;
        long total = 0;
        for (long t = first; t < spec.toMillis(); t += step) {
            long c = partial.timeline().getOrDefault(t, 0L);
            total += c;
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("t", Instant.ofEpochMilli(t).toString());
            p.put("count", c);
            points.add(p);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("service", r.service());
        out.put("type", r.type());
        out.put("labels", r.selector().text());
        out.put("from", Instant.ofEpochMilli(spec.fromMillis()).toString());
        out.put("to", Instant.ofEpochMilli(spec.toMillis()).toString());
        out.put("step", DurationText.format(Duration.ofMillis(step)));
        out.put("total", total);
        out.put("points", points);
        return out;
    }

    /** Baseline and comparison profiles of a diff request. */
    public record DiffAnswer(ProfileRequest baselineRequest, Profile baseline, ProfileRequest comparisonRequest,
                             Profile comparison) { }

    /**
     * Comparison = the request; baseline = the same with baseline_from / baseline_to /
     * baseline_labels replacing what they name (at least one is required).
     */
    public DiffAnswer diff(Function<String, String> params) {
        ProfileRequest comparison = ProfileRequest.parse(params, now());
        String bFrom = params.apply("baseline_from");
        String bTo = params.apply("baseline_to");
        String bLabels = params.apply("baseline_labels");
        if (blank(bFrom) && blank(bTo) && bLabels == null) {
            throw ApiException.badParameter("baseline_from", "a diff needs a baseline: give baseline_from and"
                    + " baseline_to (another range) and/or baseline_labels (another label set)");
        }
        Instant now = now();
        Instant from = blank(bFrom) ? comparison.from() : TimeExpression.parse("baseline_from", bFrom, now);
        Instant to;
        if (!blank(bTo)) {
            to = TimeExpression.parse("baseline_to", bTo, now);
        } else if (!blank(bFrom)) {
            to = from.plus(Duration.between(comparison.from(), comparison.to()));
        } else {
            to = comparison.to();
        }
        if (!from.isBefore(to)) {
            throw ApiException.badParameter("baseline_from", "must be before baseline_to (" + from + ", " + to + ")");
        }
        LabelSelector sel = bLabels == null ? comparison.selector() : LabelSelector.parse("baseline_labels", bLabels);
        ProfileRequest baseline = comparison.with(from, to, sel);
        return new DiffAnswer(baseline, profile(baseline).profile(), comparison, profile(comparison).profile());
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
