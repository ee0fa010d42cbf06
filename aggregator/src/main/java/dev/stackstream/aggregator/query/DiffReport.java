package dev.stackstream.aggregator.query;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.diff.Diff;
import dev.stackstream.profile.render.RenderOptions;
import java.util.ArrayList;
import java.util.List;

/**
 * The JSON answer of {@code /api/v1/diff}: both sides, and per stack the raw counts, the baseline
 * scaled to the comparison's total (when normalizing) and the change, biggest change first.
 *
 * @param service service name
 * @param type profile type name
 * @param normalized whether baselineNormalized is scaled
 * @param baseline the baseline's range, selector and total
 * @param comparison the comparison's
 * @param stacks one row per stack in either side
 */
@JsonPropertyOrder({"service", "type", "normalized", "baseline", "comparison", "stacks"})
public record DiffReport(String service, String type, boolean normalized, Side baseline, Side comparison,
                         List<Row> stacks) {

    /** One side of the diff. */
    @JsonPropertyOrder({"from", "to", "labels", "total"})
    public record Side(String from, String to, String labels, long total) {
        static Side of(ProfileRequest r, Profile p) {
            return new Side(r.from().toString(), r.to().toString(), r.selector().text(), p.totalCount());
        }
    }

    /** One stack: delta = comparison - baselineNormalized. */
    @JsonPropertyOrder({"stack", "baseline", "comparison", "baselineNormalized", "delta"})
    public record Row(String stack, long baseline, long comparison, long baselineNormalized, long delta) { }

    /** The report of a diff answer, normalized (or not) as options say. */
    public static DiffReport of(QueryService.DiffAnswer d, RenderOptions options) {
        Diff normalized = Diff.of(d.baseline(), d.comparison(), options);
        Diff raw = Diff.of(d.baseline(), d.comparison(), options.withNormalize(false));
        List<Row> rows = new ArrayList<>();
        for (Diff.Entry e : raw.entries()) {
            long norm = normalized.lines().get(e.stack())[0];
            rows.add(new Row(e.stack(), e.baseline(), e.comparison(), norm, e.comparison() - norm));
        }
        rows.sort((a, b) -> Long.compare(Math.abs(b.delta()), Math.abs(a.delta())));
        ProfileRequest c = d.comparisonRequest();
        return new DiffReport(c.service(), c.type(), normalized.normalized(), Side.of(d.baselineRequest(), d.baseline()),
                Side.of(c, d.comparison()), rows);
    }
}
