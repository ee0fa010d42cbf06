package dev.stackstream.aggregator.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.aggregator.engine.Series;
import java.time.Instant;
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
}
