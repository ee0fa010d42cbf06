package dev.stackstream.aggregator.query;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.List;

/**
 * Sample counts per step over a request's range, zero-filled: the answer of
 * {@code /api/v1/timeline} (serialized by Jackson in this field order) and of the Grafana API's
 * series.
 *
 * @param service service name
 * @param type profile type name
 * @param labels the selector's text
 * @param from start of the first step (RFC 3339)
 * @param to end of the range (RFC 3339)
 * @param step step length ({@code 10s}, {@code 1m} ...)
 * @param total sum of the points
 * @param points one per step, in time order
 */
@JsonPropertyOrder({"service", "type", "labels", "from", "to", "step", "total", "points"})
public record Timeline(String service, String type, String labels, String from, String to, String step, long total,
                       List<Point> points) {

    /** The samples of the step starting at startMillis. */
    @JsonPropertyOrder({"t", "count"})
    public record Point(@JsonIgnore long startMillis, long count) {
        /** Step start, RFC 3339. */
        @JsonProperty("t")
        public String t() {
            return Instant.ofEpochMilli(startMillis).toString();
        }
    }
}
