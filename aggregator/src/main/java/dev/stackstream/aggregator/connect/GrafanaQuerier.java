package dev.stackstream.aggregator.connect;

import dev.stackstream.aggregator.connect.proto.FlameGraph;
import dev.stackstream.aggregator.connect.proto.LabelNamesRequest;
import dev.stackstream.aggregator.connect.proto.LabelNamesResponse;
import dev.stackstream.aggregator.connect.proto.LabelPair;
import dev.stackstream.aggregator.connect.proto.LabelValuesRequest;
import dev.stackstream.aggregator.connect.proto.LabelValuesResponse;
import dev.stackstream.aggregator.connect.proto.Labels;
import dev.stackstream.aggregator.connect.proto.Point;
import dev.stackstream.aggregator.connect.proto.ProfileTypesRequest;
import dev.stackstream.aggregator.connect.proto.ProfileTypesResponse;
import dev.stackstream.aggregator.connect.proto.SelectMergeProfileRequest;
import dev.stackstream.aggregator.connect.proto.SelectMergeStacktracesRequest;
import dev.stackstream.aggregator.connect.proto.SelectMergeStacktracesResponse;
import dev.stackstream.aggregator.connect.proto.SelectSeriesRequest;
import dev.stackstream.aggregator.connect.proto.SelectSeriesResponse;
import dev.stackstream.aggregator.connect.proto.SeriesRequest;
import dev.stackstream.aggregator.connect.proto.SeriesResponse;
import dev.stackstream.aggregator.connect.proto.TimeSeriesAggregationType;
import dev.stackstream.aggregator.engine.Series;
import dev.stackstream.aggregator.query.LabelSelector;
import dev.stackstream.aggregator.query.ProfileRequest;
import dev.stackstream.aggregator.query.QueryParameters;
import dev.stackstream.aggregator.query.QueryService;
import dev.stackstream.aggregator.query.Timeline;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.pprof.PprofProto;
import dev.stackstream.profile.render.PprofRenderer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * The Pyroscope querier API ({@code querier.v1.QuerierService}) over the aggregator's queries, as
 * Grafana's Pyroscope data source calls it: every answer comes from {@link QueryService} (so from
 * every instance, through the same fan-out as {@code /api/v1}), every request field is checked by
 * {@link QueryParameters} and {@link LabelSelector}. The service is the label {@value #SERVICE_LABEL}
 * beside a series' own labels; a selector may match it with any operator (a query spans every
 * service it accepts). Profile types are named by {@link ProfileTypeIds}; Pyroscope's own labels
 * {@value #PROFILE_TYPE_LABEL} (the id) and {@value #NAME_LABEL} (its first part) can be matched too.
 */
public final class GrafanaQuerier {
    /** The protobuf service the handler serves. */
    public static final String SERVICE = "querier.v1.QuerierService";
    /** The label that carries the service name. */
    public static final String SERVICE_LABEL = "service_name";
    /** Pyroscope's label of a series' profile type id (matchable, never listed). */
    public static final String PROFILE_TYPE_LABEL = "__profile_type__";
    /** Pyroscope's label of a series' type name, the id's first part (matchable, never listed). */
    public static final String NAME_LABEL = "__name__";
    /** Largest max_nodes honoured (larger values are clamped to it). */
    public static final int MAX_NODES_LIMIT = 1 << 20;
    /** Most series one SelectSeries may group into (a resource_exhausted beyond). */
    public static final int MAX_GROUPS = 500;

    private final Supplier<QueryService> queries;

    public GrafanaQuerier(Supplier<QueryService> queries) {
        this.queries = queries;
    }

    /** A Connect handler with every method this class serves. */
    public ConnectHandler handler() {
        Map<String, ConnectHandler.Procedure<?>> m = new LinkedHashMap<>();
        m.put("ProfileTypes", new ConnectHandler.Procedure<>(ProfileTypesRequest.getDefaultInstance(), this::profileTypes));
        m.put("LabelNames", new ConnectHandler.Procedure<>(LabelNamesRequest.getDefaultInstance(), this::labelNames));
        m.put("LabelValues", new ConnectHandler.Procedure<>(LabelValuesRequest.getDefaultInstance(), this::labelValues));
        m.put("Series", new ConnectHandler.Procedure<>(SeriesRequest.getDefaultInstance(), this::series));
        m.put("SelectMergeStacktraces", new ConnectHandler.Procedure<>(
                SelectMergeStacktracesRequest.getDefaultInstance(), this::selectMergeStacktraces));
        m.put("SelectMergeProfile", new ConnectHandler.Procedure<>(SelectMergeProfileRequest.getDefaultInstance(),
                this::selectMergeProfile));
        m.put("SelectSeries", new ConnectHandler.Procedure<>(SelectSeriesRequest.getDefaultInstance(), this::selectSeries));
        return new ConnectHandler(SERVICE, m);
    }

    /** Types (with an id) of the series that got data since start. */
    public ProfileTypesResponse profileTypes(ProfileTypesRequest req) {
        TreeMap<String, ProfileTypeIds.Entry> types = new TreeMap<>();
        for (Series.Stored s : queries.get().series()) {
            if (s.lastSeenMillis() >= req.getStart()) {
                ProfileTypeIds.byType(s.series().type()).ifPresent(e -> types.put(e.id(), e));
            }
        }
        ProfileTypesResponse.Builder b = ProfileTypesResponse.newBuilder();
        types.values().forEach(e -> b.addProfileTypes(e.toProto()));
        return b.build();
    }

    public LabelNamesResponse labelNames(LabelNamesRequest req) {
        QueryService q = queries.get();
        TreeSet<String> names = new TreeSet<>();
        for (SortedMap<String, String> labels : matching(q, req.getMatchersList(), req.getStart())) {
            labels.keySet().stream().filter(n -> !n.startsWith("__")).forEach(names::add);
        }
        return LabelNamesResponse.newBuilder().addAllNames(names).build();
    }

    public LabelValuesResponse labelValues(LabelValuesRequest req) {
        QueryService q = queries.get();
        String name = QueryParameters.none(q.now()).labelName("name", req.getName());
        TreeSet<String> values = new TreeSet<>();
        for (SortedMap<String, String> labels : matching(q, req.getMatchersList(), req.getStart())) {
            String v = labels.get(name);
            if (v != null && !v.isEmpty()) {
                values.add(v);
            }
        }
        return LabelValuesResponse.newBuilder().addAllNames(values).build();
    }

    /** Distinct label sets of the matching series, restricted to label_names when given. */
    public SeriesResponse series(SeriesRequest req) {
        QueryService q = queries.get();
        TreeMap<String, Labels> sets = new TreeMap<>();
        for (SortedMap<String, String> labels : matching(q, req.getMatchersList(), req.getStart())) {
            Labels.Builder l = Labels.newBuilder();
            labels.forEach((k, v) -> {
                if (req.getLabelNamesCount() == 0 || req.getLabelNamesList().contains(k)) {
                    l.addLabels(LabelPair.newBuilder().setName(k).setValue(v));
                }
            });
            Labels built = l.build();
            sets.putIfAbsent(built.toString(), built);
        }
        return SeriesResponse.newBuilder().addAllLabelsSet(sets.values()).build();
    }

    public SelectMergeStacktracesResponse selectMergeStacktraces(SelectMergeStacktracesRequest req) {
        Plan plan = plan(req.getProfileTypeID(), req.getLabelSelector(), req.getStart(), req.getEnd());
        FlameGraph fg = FlameGraphEncoder.encode(plan.profiles(), maxNodes(req.hasMaxNodes(), req.getMaxNodes()));
        return SelectMergeStacktracesResponse.newBuilder().setFlamegraph(fg).build();
    }

    /** The merged profile as pprof (max_nodes is not applied: pprof keeps every stack). */
    public PprofProto.Profile selectMergeProfile(SelectMergeProfileRequest req) {
        Plan plan = plan(req.getProfileTypeID(), req.getLabelSelector(), req.getStart(), req.getEnd());
        maxNodes(req.hasMaxNodes(), req.getMaxNodes());
        List<Profile> profiles = plan.profiles();
        ProfileType type = profiles.isEmpty() ? new ProfileType(plan.type.type(), plan.type.sampleUnit(), 1)
                : profiles.get(0).type();
        ProfileBuilder b = Profile.builder(type).timeRange(plan.template.from(), plan.template.to());
        profiles.forEach(b::merge);
        return PprofRenderer.toProto(b.build());
    }

    /** Values per step (the sum of each step's samples in the type's unit), one series per group. */
    public SelectSeriesResponse selectSeries(SelectSeriesRequest req) {
        if (req.hasAggregation() && req.getAggregation() != TimeSeriesAggregationType.TIME_SERIES_AGGREGATION_TYPE_SUM) {
            throw new ConnectException(ConnectCode.UNIMPLEMENTED, "aggregation " + req.getAggregation()
                    + " is not supported (TIME_SERIES_AGGREGATION_TYPE_SUM is)");
        }
        Plan plan = plan(req.getProfileTypeID(), req.getLabelSelector(), req.getStart(), req.getEnd());
        QueryService q = plan.queries;
        Duration step = step(req.getStep(), q.finestBucket());
        QueryParameters p = QueryParameters.none(q.now());
        List<String> groupBy = new ArrayList<>();
        for (String g : req.getGroupByList()) {
            if (!g.isBlank()) {
                groupBy.add(p.labelName("group_by", g.trim()));
            }
        }
        // Group key (values of the group_by labels, "" when absent) -> services in the group.
        Map<List<String>, TreeSet<String>> groups = new TreeMap<>(Comparator.comparing(Object::toString));
        for (Series.Stored s : q.series()) {
            Series series = s.series();
            if (!series.type().equals(plan.type.type()) || !plan.services.contains(series.service())
                    || !plan.template.selector().matchesSeries(series)) {
                continue;
            }
            SortedMap<String, String> labels = labelsOf(series);
            groups.computeIfAbsent(groupBy.stream().map(g -> labels.getOrDefault(g, "")).toList(),
                    k -> new TreeSet<>()).add(series.service());
        }
        if (groups.size() > MAX_GROUPS) {
            throw new ConnectException(ConnectCode.RESOURCE_EXHAUSTED, "group_by " + groupBy + " gives "
                    + groups.size() + " series, more than " + MAX_GROUPS + "; group by fewer labels");
        }
        List<dev.stackstream.aggregator.connect.proto.Series> out = new ArrayList<>();
        List<Double> totals = new ArrayList<>();
        for (Map.Entry<List<String>, TreeSet<String>> g : groups.entrySet()) {
            LabelSelector selector = plan.template.selector();
            dev.stackstream.aggregator.connect.proto.Series.Builder series =
                    dev.stackstream.aggregator.connect.proto.Series.newBuilder();
            for (int i = 0; i < groupBy.size(); i++) {
                String name = groupBy.get(i);
                String value = g.getKey().get(i);
                if (!name.equals(SERVICE_LABEL)) {
                    selector = selector.withEquality(name, value);
                }
                if (!value.isEmpty()) {
                    series.addLabels(LabelPair.newBuilder().setName(name).setValue(value));
                }
            }
            TreeMap<Long, Double> points = new TreeMap<>();
            for (String service : g.getValue()) {
                ProfileRequest r = new ProfileRequest(service, plan.type.type(), selector, plan.template.from(),
                        plan.template.to());
                Timeline t = q.timeline(r, step);
                for (Timeline.Point pt : t.points()) {
                    points.merge(pt.startMillis(), (double) pt.count() * t.period(), Double::sum);
                }
            }
            double total = 0;
            for (Map.Entry<Long, Double> pt : points.entrySet()) {
                series.addPoints(Point.newBuilder().setTimestamp(pt.getKey()).setValue(pt.getValue()));
                total += pt.getValue();
            }
            out.add(series.build());
            totals.add(total);
        }
        if (req.hasLimit() && req.getLimit() > 0 && out.size() > req.getLimit()) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < out.size(); i++) {
                order.add(i);
            }
            order.sort((a, b) -> Double.compare(totals.get(b), totals.get(a)));
            List<dev.stackstream.aggregator.connect.proto.Series> top = new ArrayList<>();
            for (int i = 0; i < req.getLimit(); i++) {
                top.add(out.get(order.get(i)));
            }
            out = top;
        }
        return SelectSeriesResponse.newBuilder().addAllSeries(out).build();
    }

    /** A profile query resolved: the type, the services the selector accepts, the rest of the selector. */
    private record Plan(QueryService queries, ProfileTypeIds.Entry type, TreeSet<String> services,
                        ProfileRequest template) {
        /** One merged profile per service. */
        List<Profile> profiles() {
            List<Profile> out = new ArrayList<>();
            for (String service : services) {
                out.add(queries.profile(new ProfileRequest(service, type.type(), template.selector(),
                        template.from(), template.to())).profile());
            }
            return out;
        }
    }

    private Plan plan(String typeId, String selectorText, long start, long end) {
        QueryService q = queries.get();
        ProfileTypeIds.Entry type = ProfileTypeIds.byId(typeId).orElseThrow(() -> new ConnectException(
                ConnectCode.NOT_FOUND, "unknown profile type '" + typeId + "' (known: " + ProfileTypeIds.ids() + ")"));
        QueryParameters p = QueryParameters.none(q.now());
        LabelSelector selector = p.selector("label_selector", selectorText);
        Instant from = p.epochMillis("start", start);
        Instant to = p.epochMillis("end", end);
        ProfileRequest template = p.profile("", type.type(), selector.without(SERVICE_LABEL)
                .without(PROFILE_TYPE_LABEL).without(NAME_LABEL), from, "start", to, "end");
        TreeSet<String> services = new TreeSet<>();
        boolean typeAccepted = selector.accepts(PROFILE_TYPE_LABEL, type.id()) && selector.accepts(NAME_LABEL, type.name());
        for (Series.Stored s : q.series()) {
            if (typeAccepted && s.series().type().equals(type.type())
                    && selector.accepts(SERVICE_LABEL, s.series().service())) {
                services.add(s.series().service());
            }
        }
        return new Plan(q, type, services, template);
    }

    /** Label sets (own labels + the service label) of the series that match any selector (all when none). */
    private static List<SortedMap<String, String>> matching(QueryService q, List<String> matchers, long start) {
        QueryParameters p = QueryParameters.none(q.now());
        List<LabelSelector> selectors = new ArrayList<>();
        for (String m : matchers) {
            selectors.add(p.selector("matchers", m));
        }
        List<SortedMap<String, String>> out = new ArrayList<>();
        for (Series.Stored s : q.series()) {
            if (s.lastSeenMillis() < start) {
                continue;
            }
            SortedMap<String, String> labels = labelsOf(s.series());
            ProfileTypeIds.byType(s.series().type()).ifPresent(e -> {
                labels.put(PROFILE_TYPE_LABEL, e.id());
                labels.put(NAME_LABEL, e.name());
            });
            if (selectors.isEmpty() || selectors.stream().anyMatch(sel -> sel.matchesLabels(labels))) {
                labels.remove(PROFILE_TYPE_LABEL);
                labels.remove(NAME_LABEL);
                out.add(labels);
            }
        }
        return out;
    }

    private static SortedMap<String, String> labelsOf(Series s) {
        SortedMap<String, String> labels = new TreeMap<>(s.labels());
        labels.put(SERVICE_LABEL, s.service());
        return labels;
    }

    private static int maxNodes(boolean given, long value) {
        if (!given || value == 0) {
            return FlameGraphEncoder.DEFAULT_MAX_NODES;
        }
        if (value < 0) {
            throw new ConnectException(ConnectCode.INVALID_ARGUMENT, "max_nodes must be >= 0, got " + value);
        }
        return (int) Math.min(value, MAX_NODES_LIMIT);
    }

    /** step seconds rounded up to whole finest buckets (the resolution the counts have). */
    private static Duration step(double seconds, Duration finest) {
        if (!(seconds > 0) || seconds > 366 * 86_400) {
            throw new ConnectException(ConnectCode.INVALID_ARGUMENT, "step must be a number of seconds > 0"
                    + " and at most a year, got " + seconds);
        }
        long ms = (long) Math.ceil(seconds * 1000);
        long fine = finest.toMillis();
        return Duration.ofMillis(Math.max(fine, (ms + fine - 1) / fine * fine));
    }
}
