package dev.stackstream.profile.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.profile.Fixtures;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import java.util.List;
import org.junit.jupiter.api.Test;

class SummaryTest {

    @Test
    void reportsTheCalltreeSplit() {
        Summary s = Summary.of(Fixtures.calltree());
        assertEquals(5000, s.samples());
        assertEquals(5.0, s.elapsedSeconds());
        assertEquals(1000.0, s.rateHz());
        assertEquals(5, s.uniqueStacks());
        assertEquals(3, s.lost());
        Summary.PathShare hottest = s.hottestPaths().get(0);
        assertEquals("__libc_start_main;main;a;b", hottest.stack());
        assertEquals(3490, hottest.count());
        assertEquals(69.8, hottest.percent());
        assertEquals("b", s.topSelf().get(0).function());
        assertEquals("c", s.topSelf().get(1).function());
        assertEquals(1495, s.topSelf().get(1).self());
        assertEquals(1505, s.topSelf().get(1).total(), "c's total includes its kernel callees");
        assertEquals("__libc_start_main", s.topTotal().get(0).function());
        assertEquals(100.0, s.topTotal().get(0).totalPercent());
        assertEquals(List.of("worker-1", "worker-2"), s.threads().stream().map(Summary.ThreadShare::thread).toList());
        assertEquals(2511, s.threads().get(0).count());
    }

    @Test
    void absentMeasurementsSayNotAvailableNeverZero() throws Exception {
        Summary s = Summary.of(Fixtures.calltree());
        Summary.Measurement instructions = s.measurements().stream()
                .filter(m -> m.name().equals("instructions retired")).findFirst().orElseThrow();
        assertNull(instructions.value());
        assertEquals("not available", instructions.text());
        String text = s.toText();
        assertTrue(text.contains("instructions retired") && text.contains("not available"), text);
        assertTrue(text.contains("target CPU time          4.990 s") || text.contains("4.990 s"), text);
        assertTrue(text.contains("instruction hot spots  not available"), text);
        assertTrue(!text.matches("(?s).*instructions retired\\s+0\\b.*"), "no zero printed as if measured");
        JsonNode json = new ObjectMapper().valueToTree(s);
        assertTrue(json.get("measurements").get(2).get("value").isNull());
        assertEquals("not available", json.get("measurements").get(2).get("text").asText());
        assertEquals(15, json.get("topSelf").size() <= 15 ? 15 : -1);
    }

    @Test
    void instructionHotSpotsWhenMeasured() {
        Frame f = Frame.named("spin", FrameKind.USER);
        Frame g = Frame.named("copy", FrameKind.USER);
        Profile p = Profile.builder(ProfileType.cpu(99))
                .add(Stack.of(f), null, 10, 9_000_000)
                .add(Stack.of(g), null, 30, 1_000_000)
                .build();
        Summary s = Summary.of(p);
        assertEquals("spin", s.instructionHotspots().get(0).stack());
        assertEquals(90.0, s.instructionHotspots().get(0).percent());
        assertNull(s.rateHz(), "empty time range: no rate");
        assertTrue(s.toText().contains("not recorded per thread"));
    }

    @Test
    void keepsFifteenHottestPaths() {
        var b = Profile.builder(ProfileType.cpu(99));
        for (int i = 0; i < 40; i++) {
            b.add(Stack.of(Frame.named("root", FrameKind.USER), Frame.named("f" + i, FrameKind.USER)), null, i + 1);
        }
        Summary s = Summary.of(b.build());
        assertEquals(Summary.TOP, s.hottestPaths().size());
        assertEquals("root;f39", s.hottestPaths().get(0).stack());
        assertEquals(Summary.TOP, s.topSelf().size());
    }
}
