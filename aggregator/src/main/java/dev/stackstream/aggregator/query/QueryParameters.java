package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.engine.DurationText;
import dev.stackstream.profile.render.Palette;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.profile.render.Renderer;
import dev.stackstream.profile.render.Renderers;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The one parser of query parameters: every value a client sends to the query API (the
 * {@code /api/v1} routes' query and path parameters, the Grafana API's message fields) is read and
 * checked here, so each parameter has one meaning, one default and one error text. Every bad value
 * is an {@link ApiException#badParameter} naming the parameter.
 *
 * <p>Common parameters: {@code service} (required), {@code type} (default cpu), {@code from}
 * (default now-1h), {@code to} (default now), {@code labels} (default: all); see the module README
 * for the rest.
 */
public final class QueryParameters {
    private static final Pattern LABEL_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.\\-/]*");

    private final Function<String, String> params;
    private final Instant now;

    /**
     * @param params parameter name to its raw value (null when absent)
     * @param now the query clock's "now", for relative times
     */
    public QueryParameters(Function<String, String> params, Instant now) {
        this.params = params;
        this.now = now;
    }

    /** For callers whose values arrive as typed fields, not by name (the Grafana API). */
    public static QueryParameters none(Instant now) {
        return new QueryParameters(name -> null, now);
    }

    /** The value of name, or null when absent or blank. */
    public String optional(String name) {
        String v = params.apply(name);
        return v == null || v.isBlank() ? null : v;
    }

    /** {@code service}, required. */
    public String service() {
        String service = params.apply("service");
        if (service == null || service.isBlank()) {
            throw ApiException.badParameter("service", "is required (a service name, see /api/v1/services)");
        }
        return service.trim();
    }

    /** The common parameters of profile, summary, diff and timeline queries. */
    public ProfileRequest profile() {
        String service = service();
        String type = params.apply("type");
        if (type != null && type.isBlank()) {
            throw ApiException.badParameter("type", "is empty (e.g. cpu; see /api/v1/profile-types)");
        }
        Instant from = TimeExpression.parse("from", orDefault(params.apply("from"), "now-1h"), now);
        Instant to = TimeExpression.parse("to", orDefault(params.apply("to"), "now"), now);
        LabelSelector selector = LabelSelector.parse("labels", params.apply("labels"));
        return profile(service, type == null ? "cpu" : type.trim(), selector, from, "from", to, "to");
    }

    /** A request from parts already parsed; checks the range (its ends named as given) as every request. */
    public ProfileRequest profile(String service, String type, LabelSelector selector, Instant from,
                                  String fromParameter, Instant to, String toParameter) {
        if (!from.isBefore(to)) {
            throw ApiException.badParameter(fromParameter, "must be before '" + toParameter + "' (" + fromParameter
                    + "=" + from + ", " + toParameter + "=" + to + ")");
        }
        return new ProfileRequest(service, type, selector, from, to);
    }

    /** A time given as epoch milliseconds (the Grafana API's start/end), held to the same bounds as any time. */
    public Instant epochMillis(String parameter, long millis) {
        return TimeExpression.bounded(parameter, Long.toString(millis), Instant.ofEpochMilli(millis), now);
    }

    /** A label selector (Prometheus matchers) from the parameter's value. */
    public LabelSelector selector(String parameter, String text) {
        return LabelSelector.parse(parameter, text);
    }

    /** A label name, e.g. the {@code name} path parameter of the label values route. */
    public String labelName(String parameter) {
        return labelName(parameter, params.apply(parameter));
    }

    /** Checks value as a label name. */
    public String labelName(String parameter, String value) {
        if (value == null || !LABEL_NAME.matcher(value).matches()) {
            throw ApiException.badParameter(parameter, "'" + value + "' is not a label name");
        }
        return value;
    }

    /**
     * A diff's baseline: the comparison with baseline_from / baseline_to / baseline_labels replacing
     * what they name (at least one is required; baseline_to defaults to baseline_from + the
     * comparison's length).
     */
    public ProfileRequest baseline(ProfileRequest comparison) {
        String bFrom = optional("baseline_from");
        String bTo = optional("baseline_to");
        String bLabels = params.apply("baseline_labels");
        if (bFrom == null && bTo == null && bLabels == null) {
            throw ApiException.badParameter("baseline_from", "a diff needs a baseline: give baseline_from and"
                    + " baseline_to (another range) and/or baseline_labels (another label set)");
        }
        Instant from = bFrom == null ? comparison.from() : TimeExpression.parse("baseline_from", bFrom, now);
        Instant to;
        if (bTo != null) {
            to = TimeExpression.parse("baseline_to", bTo, now);
        } else if (bFrom != null) {
            to = from.plus(Duration.between(comparison.from(), comparison.to()));
        } else {
            to = comparison.to();
        }
        if (!from.isBefore(to)) {
            throw ApiException.badParameter("baseline_from", "must be before baseline_to (" + from + ", " + to + ")");
        }
        LabelSelector sel = bLabels == null ? comparison.selector() : LabelSelector.parse("baseline_labels", bLabels);
        return comparison.with(from, to, sel);
    }

    /** {@code step} of a timeline, or null when absent (the service picks one). */
    public Duration step() {
        String text = optional("step");
        if (text == null) {
            return null;
        }
        try {
            return DurationText.parse(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.badParameter("step", e.getMessage());
        }
    }

    /** One of allowed (described as {@code "json or text"} in the error), dflt when absent. */
    public String choice(String name, String dflt, List<String> allowed, String description) {
        String v = params.apply(name) == null ? dflt : params.apply(name);
        if (!allowed.contains(v)) {
            throw ApiException.badParameter(name, "'" + v + "' is not " + description);
        }
        return v;
    }

    /** The renderer {@code format} names (default json), from the profile module's registry. */
    public Renderer renderer() {
        String format = params.apply("format") == null ? "json" : params.apply("format");
        return Renderers.byFormat(format).orElseThrow(() -> ApiException.badParameter("format",
                "'" + format + "' is not a format (one of " + Renderers.formatNames() + ")"));
    }

    /** true/false (1/0, yes/no) parameter, dflt when absent. */
    public boolean flag(String name, boolean dflt) {
        String v = params.apply(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw ApiException.badParameter(name, "'" + v + "' is not true or false");
        };
    }

    /** Rendering options: title from the request, threads, inverted, palette, width. */
    public RenderOptions renderOptions(ProfileRequest r) {
        String labels = r.selector().text().isEmpty() ? "" : " " + r.selector().text();
        RenderOptions o = RenderOptions.forType(r.type())
                .withTitle(r.service() + " " + r.type())
                .withSubtitle(r.from() + " to " + r.to() + labels)
                .withThreads(flag("threads", false))
                .withInverted(flag("inverted", false));
        String palette = params.apply("palette");
        if (palette != null) {
            try {
                o = o.withPalette(Palette.parse(palette));
            } catch (IllegalArgumentException e) {
                throw ApiException.badParameter("palette", e.getMessage());
            }
        }
        String width = params.apply("width");
        if (width != null) {
            try {
                o = o.withWidth(Integer.parseInt(width.trim()));
            } catch (IllegalArgumentException e) {
                throw ApiException.badParameter("width", "'" + width + "' is not a width in px >= 100");
            }
        }
        return o;
    }

    /** The internal fan-out route's query ({@link QuerySpec#toQueryString()}'s parameters), range-checked. */
    public QuerySpec internalSpec() {
        QuerySpec spec;
        try {
            spec = new QuerySpec(params.apply("service"), optional("type"),
                    LabelSelector.parse("labels", params.apply("labels")),
                    Long.parseLong(params.apply("from_ms")), Long.parseLong(params.apply("to_ms")),
                    Long.parseLong(params.apply("step_ms")), Integer.parseInt(params.apply("max_tier")));
        } catch (NumberFormatException | NullPointerException e) {
            throw ApiException.badParameter("from_ms", "internal query is incomplete: " + e);
        }
        if (spec.service() == null) {
            throw ApiException.badParameter("service", "is required");
        }
        if (spec.maxTier() < 0 || spec.stepMillis() < 0 || spec.fromMillis() < 0 || spec.toMillis() < spec.fromMillis()) {
            throw ApiException.badParameter("max_tier", "internal query out of range (max_tier, step_ms >= 0,"
                    + " 0 <= from_ms <= to_ms)");
        }
        return spec;
    }

    private static String orDefault(String v, String d) {
        return v == null || v.isBlank() ? d : v;
    }
}
