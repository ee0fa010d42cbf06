package dev.stackstream.profile.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackstream.profile.Fixtures;
import dev.stackstream.profile.Profile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** speedscope's file-format schema checked structurally (the fields and invariants its importer relies on). */
class SpeedscopeRendererTest {

    @Test
    void followsTheSpeedscopeSchema() throws IOException {
        Profile profile = Fixtures.calltree();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new SpeedscopeRenderer().render(profile, RenderOptions.defaults(), out);
        JsonNode root = new ObjectMapper().readTree(out.toByteArray());
        assertEquals("https://www.speedscope.app/file-format-schema.json", root.get("$schema").asText());
        JsonNode frames = root.get("shared").get("frames");
        assertTrue(frames.isArray() && frames.size() > 0);
        for (JsonNode f : frames) {
            assertTrue(f.get("name").isTextual(), "every frame has a name");
        }
        JsonNode profiles = root.get("profiles");
        assertEquals(2, profiles.size(), "one sampled profile per thread");
        long weightSum = 0;
        List<String> names = new ArrayList<>();
        for (JsonNode p : profiles) {
            assertEquals("sampled", p.get("type").asText());
            assertEquals("nanoseconds", p.get("unit").asText());
            names.add(p.get("name").asText());
            JsonNode samples = p.get("samples");
            JsonNode weights = p.get("weights");
            assertEquals(samples.size(), weights.size(), "one weight per sample");
            long sum = 0;
            for (int i = 0; i < samples.size(); i++) {
                JsonNode stack = samples.get(i);
                for (JsonNode idx : stack) {
                    assertTrue(idx.asInt() >= 0 && idx.asInt() < frames.size(), "frame index in range");
                }
                // root first
                assertEquals("__libc_start_main", frames.get(stack.get(0).asInt()).get("name").asText());
                assertTrue(weights.get(i).asLong() > 0);
                sum += weights.get(i).asLong();
            }
            assertEquals(0, p.get("startValue").asLong());
            assertEquals(sum, p.get("endValue").asLong());
            weightSum += sum;
        }
        assertEquals(List.of("worker-1", "worker-2"), names);
        assertEquals(profile.totalCount() * profile.type().period(), weightSum);
        assertTrue(frames.findValues("name").stream().anyMatch(n -> n.asText().equals("ksys_read_[k]")));
    }
}
