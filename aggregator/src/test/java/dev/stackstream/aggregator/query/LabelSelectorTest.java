package dev.stackstream.aggregator.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.aggregator.engine.Series;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LabelSelectorTest {
    private static final Series POD_X = Series.of("s", "cpu", "nanoseconds", 1, Map.of("pod", "x", "zone", "eu-1"));

    @Test
    void matchersFollowPrometheusSemantics() {
        assertTrue(LabelSelector.parse("labels", "{pod=\"x\"}").matchesSeries(POD_X));
        assertTrue(LabelSelector.parse("labels", "pod=\"x\", zone=~\"eu-.*\"").matchesSeries(POD_X));
        assertFalse(LabelSelector.parse("labels", "{zone=~\"eu\"}").matchesSeries(POD_X), "regex is anchored");
        assertTrue(LabelSelector.parse("labels", "{zone!~\"us-.*\",pod!=\"y\"}").matchesSeries(POD_X));
        assertTrue(LabelSelector.parse("labels", "{host=\"\"}").matchesSeries(POD_X), "missing label is empty");
        assertFalse(LabelSelector.parse("labels", "{host!=\"\"}").matchesSeries(POD_X));
        assertTrue(LabelSelector.parse("labels", "{pod=\"a\\\"b\"}").matchers().get(0).value().equals("a\"b"));
    }

    @Test
    void threadMatchesPerEntryNotPerSeries() {
        LabelSelector s = LabelSelector.parse("labels", "{pod=\"x\",thread=~\"worker-.*\"}");
        assertTrue(s.matchesSeries(POD_X));
        assertTrue(s.threadFilter().test("worker-3"));
        assertFalse(s.threadFilter().test("main"));
        assertFalse(s.threadFilter().test(null));
        assertNull(LabelSelector.parse("labels", "{pod=\"x\"}").threadFilter());
    }

    @Test
    void badSyntaxIs400NamingTheParameter() {
        for (String bad : new String[] {"{pod=x}", "{pod=\"x\"", "{=\"x\"}", "{pod~\"x\"}", "{pod=\"x\" zone=\"y\"}",
                "{pod=~\"[\"}", "{pod=\"unterminated}"}) {
            ApiException e = assertThrows(ApiException.class, () -> LabelSelector.parse("labels", bad), bad);
            assertEquals(400, e.status());
            assertEquals("labels", e.parameter());
        }
    }

    @Test
    void timesAreRfc3339OrRelative() {
        Instant now = Instant.parse("2026-11-26T12:00:00Z");
        assertEquals(now, TimeExpression.parse("from", "now", now));
        assertEquals(Instant.parse("2026-11-26T11:45:00Z"), TimeExpression.parse("from", "now-15m", now));
        assertEquals(Instant.parse("2026-11-19T12:00:00Z"), TimeExpression.parse("from", "now-7d", now));
        assertEquals(Instant.parse("2026-11-26T10:00:00Z"), TimeExpression.parse("from", "2026-11-26T11:00:00+01:00", now));
        ApiException e = assertThrows(ApiException.class, () -> TimeExpression.parse("to", "tomorrow", now));
        assertEquals("to", e.parameter());
    }

    @Test
    void withoutAndWithEqualityWriteTextThatParsesBackToTheSameMatchers() {
        LabelSelector s = LabelSelector.parse("label_selector",
                "{service_name=\"checkout\",pod=~\"a\\\\.b.*\",zone!=\"q\\\"uote\\n\",thread!~\"gc.*\"}");
        LabelSelector rest = s.without("service_name").withEquality("host", "back\\slash");
        assertEquals(List.of("pod", "zone", "thread", "host"), rest.matchers().stream().map(LabelSelector.Matcher::name).toList());
        LabelSelector again = LabelSelector.parse("labels", rest.text());
        assertEquals(rest.matchers().stream().map(m -> m.name() + m.op() + m.value()).toList(),
                again.matchers().stream().map(m -> m.name() + m.op() + m.value()).toList(), rest.text());
        assertTrue(s.accepts("service_name", "checkout"));
        assertFalse(s.accepts("service_name", "search"));
        assertTrue(rest.accepts("service_name", "anything"), "no matcher names it any more");
        assertTrue(again.matchesLabels(Map.of("pod", "a.b1", "zone", "eu", "host", "back\\slash")));
        assertFalse(again.matchesLabels(Map.of("pod", "a.b1", "zone", "q\"uote\n", "host", "back\\slash")));
        assertEquals("", LabelSelector.parse("x", "{a=\"b\"}").without("a").text());
    }
}
