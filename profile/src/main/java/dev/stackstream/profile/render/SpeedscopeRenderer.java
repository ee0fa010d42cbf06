package dev.stackstream.profile.render;

import dev.stackstream.profile.folded.FoldedStacks;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json): shared frames
 * (name, file, line) and one {@code sampled} profile per thread (one for the whole profile when
 * threads were not recorded), each sample a list of frame indexes root first with one weight per
 * sample. Unit: the profile's unit when speedscope knows it (nanoseconds, bytes), weights being
 * count * period; otherwise "none" with plain counts. Deterministic output.
 */
public final class SpeedscopeRenderer implements Renderer {
    private static final JsonFactory FACTORY = new JsonFactory();

    @Override
    public String format() {
        return "speedscope";
    }

    @Override
    public String mediaType() {
        return "application/json";
    }

    @Override
    public String defaultFileName() {
        return "profile.speedscope.json";
    }

    @Override
    public void render(Profile profile, RenderOptions options, OutputStream out) throws IOException {
        Map<String, Integer> frameIds = new HashMap<>();
        List<Frame> frames = new ArrayList<>();
        Map<String, List<Sample>> byThread = new LinkedHashMap<>();
        for (Sample s : profile.samples()) {
            if (s.count() > 0) {
                byThread.computeIfAbsent(s.thread() == null ? "" : s.thread(), k -> new ArrayList<>()).add(s);
            }
        }
        String unit = switch (profile.type().unit()) {
            case "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes" -> profile.type().unit();
            default -> "none";
        };
        long weightPerCount = unit.equals("none") ? 1 : profile.type().period();
        String name = options.title().equals(RenderOptions.defaults().title())
                ? "stackstream " + profile.type().name() + " profile" : options.title();
        try (JsonGenerator g = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.writeStartObject();
            g.writeStringField("$schema", "https://www.speedscope.app/file-format-schema.json");
            g.writeStringField("name", name);
            g.writeStringField("exporter", "stackstream");
            g.writeNumberField("activeProfileIndex", 0);
            // frames first pass: collect in order of use so indexes are stable
            for (List<Sample> samples : byThread.values()) {
                for (Sample s : samples) {
                    for (Frame f : s.stack().frames()) {
                        String key = FoldedStacks.name(f) + "\0" + f.file() + "\0" + f.line();
                        if (!frameIds.containsKey(key)) {
                            frameIds.put(key, frames.size());
                            frames.add(f);
                        }
                    }
                }
            }
            g.writeObjectFieldStart("shared");
            g.writeArrayFieldStart("frames");
            for (Frame f : frames) {
                g.writeStartObject();
                g.writeStringField("name", FoldedStacks.name(f));
                String file = f.file() != null ? f.file() : f.module();
                if (file != null) {
                    g.writeStringField("file", file);
                }
                if (f.line() > 0) {
                    g.writeNumberField("line", f.line());
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeArrayFieldStart("profiles");
            if (byThread.isEmpty()) {
                byThread.put("", List.of());
            }
            for (Map.Entry<String, List<Sample>> t : byThread.entrySet()) {
                long total = 0;
                for (Sample s : t.getValue()) {
                    total += s.count() * weightPerCount;
                }
                g.writeStartObject();
                g.writeStringField("type", "sampled");
                g.writeStringField("name", t.getKey().isEmpty() ? name : t.getKey());
                g.writeStringField("unit", unit);
                g.writeNumberField("startValue", 0);
                g.writeNumberField("endValue", total);
                g.writeArrayFieldStart("samples");
                for (Sample s : t.getValue()) {
                    g.writeStartArray();
                    for (Frame f : s.stack().frames()) {
                        g.writeNumber(frameIds.get(FoldedStacks.name(f) + "\0" + f.file() + "\0" + f.line()));
                    }
                    g.writeEndArray();
                }
                g.writeEndArray();
                g.writeArrayFieldStart("weights");
                for (Sample s : t.getValue()) {
                    g.writeNumber(s.count() * weightPerCount);
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeRaw('\n');
        }
    }
}
