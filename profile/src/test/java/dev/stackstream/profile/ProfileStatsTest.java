package dev.stackstream.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.profile.render.JsonRenderer;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.profile.report.Summary;
import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ProfileStatsTest {
    private static ProfileStats cut(long truncated, Unwinding u) {
        return new ProfileStats(0, 0, 0, truncated, OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
                Optional.ofNullable(u));
    }

    @Test
    void unwindingCutsAddAndAMixOfMethodsIsSaid() {
        ProfileStats a = cut(6, new Unwinding("auto", 16384, 1, 2, 3, 0));
        ProfileStats b = cut(4, new Unwinding("fp", 64, 4, 0, 0, 0));
        Unwinding sum = a.plus(b).unwinding().orElseThrow();
        assertEquals(new Unwinding(Unwinding.MIXED, 16384, 5, 2, 3, 0), sum);
        assertEquals(10, sum.cuts());
        assertEquals(10, a.plus(b).truncatedStacks());
        assertEquals("auto", a.plus(a).unwinding().orElseThrow().method());
    }

    @Test
    void aSideWithoutDetailsKeepsTheOthersOnlyWhenItCutNothing() {
        ProfileStats known = cut(6, new Unwinding("cfi", 8192, 0, 6, 0, 0));
        assertEquals(known.unwinding(), ProfileStats.EMPTY.plus(known).unwinding());
        assertEquals(known.unwinding(), known.plus(cut(0, null)).unwinding());
        // cuts of unknown reason would be missing from the sum: no details rather than wrong ones
        assertTrue(known.plus(cut(3, null)).unwinding().isEmpty());
        assertTrue(cut(3, null).plus(known).unwinding().isEmpty());
    }

    @Test
    void negativeCountsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Unwinding("auto", 16384, 0, -1, 0, 0));
    }

    @Test
    void summaryAndJsonReportTheCutsByReason() throws Exception {
        Profile p = Profile.builder(ProfileType.cpu(99))
                .timeRange(Instant.parse("2026-12-03T17:00:00Z"), Instant.parse("2026-12-03T17:00:01Z"))
                .add(new Stack(List.of(Frame.named("[truncated: stack copy too short]", FrameKind.USER),
                        Frame.named("leaf", FrameKind.USER)), true), null, 7)
                .stats(cut(7, new Unwinding("auto", 4096, 0, 7, 0, 0)))
                .build();
        String text = Summary.of(p).toText();
        assertTrue(text.contains("    cut because          copy too short 7, no unwind info 0, corrupt 0, depth limit 0\n"),
                text);
        assertTrue(text.contains("  stack unwinding        auto, 4,096 stack bytes copied per sample\n"), text);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new JsonRenderer().render(p, RenderOptions.defaults(), out);
        JsonNode u = new ObjectMapper().readTree(out.toByteArray()).get("stats").get("unwinding");
        assertEquals("auto", u.get("method").asText());
        assertEquals(4096, u.get("stackBytes").asInt());
        assertEquals(7, u.get("stackCopyCuts").asLong());
        assertEquals(0, u.get("corruptCuts").asLong());
    }
}
