package dev.stackstream.profile.render;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileStats;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.Stack;
import dev.stackstream.profile.Unwinding;
import java.io.IOException;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The profile as JSON, in a stable documented shape (version 1; fields are only ever added):
 *
 * <pre>{@code
 * {
 *   "format": "stackstream-profile", "version": 1,
 *   "type": {"name": "cpu", "unit": "nanoseconds", "period": 1001001},
 *   "timeRange": {"start": "2026-11-26T21:00:00Z", "end": "...", "durationNanos": 5000000000},
 *   "labels": {"service": "x"},
 *   "totalSamples": 4995, "uniqueStacks": 12,
 *   "stats": {"lost": 0, "throttled": 0, "tableOverflow": 0, "truncatedStacks": 0,
 *             "targetCpuNanos": 4990000000 | "not available",
 *             "targetMaxRssBytes": 1234 | "not available", "instructions": "not available",
 *             "unwinding": {"method": "auto|fp|cfi|mixed", "stackBytes": 16384, "depthCuts": 0,
 *                           "stackCopyCuts": 0, "noUnwindInfoCuts": 0, "corruptCuts": 0} | "not available"},
 *   "frames": [{"name": "b", "function": "b" | null, "module": "/x/calltree" | null,
 *               "buildId": "ab12..." | null, "offset": 4660 | -1, "kind": "user|kernel|jit",
 *               "file": null, "line": 0}],
 *   "stacks": [{"id": "32 hex digits", "frames": [0, 1, 2], "truncated": false}],
 *   "samples": [{"stack": 0, "thread": "worker-1" | null, "count": 40, "instructions": 123 | null}]
 * }
 * }</pre>
 *
 * Frames are listed once each (in order of first use) and referenced by index; stack frame lists
 * are root first. Output is deterministic for a given profile.
 */
public final class JsonRenderer implements Renderer {
    /** Written instead of a number for a measurement the profile does not have. */
    public static final String NOT_AVAILABLE = "not available";
    private static final JsonFactory FACTORY = new JsonFactory();

    @Override
    public String format() {
        return "json";
    }

    @Override
    public String mediaType() {
        return "application/json";
    }

    @Override
    public String defaultFileName() {
        return "profile.json";
    }

    @Override
    public void render(Profile profile, RenderOptions options, OutputStream out) throws IOException {
        Map<Frame, Integer> frameIds = new HashMap<>();
        Map<Stack, Integer> stackIds = new HashMap<>();
        java.util.List<Frame> frames = new java.util.ArrayList<>();
        java.util.List<Stack> stacks = new java.util.ArrayList<>();
        for (Sample s : profile.samples()) {
            if (stackIds.putIfAbsent(s.stack(), stacks.size()) == null) {
                stacks.add(s.stack());
                for (Frame f : s.stack().frames()) {
                    if (frameIds.putIfAbsent(f, frames.size()) == null) {
                        frames.add(f);
                    }
                }
            }
        }
        try (JsonGenerator g = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeStringField("format", "stackstream-profile");
            g.writeNumberField("version", 1);
            g.writeObjectFieldStart("type");
            g.writeStringField("name", profile.type().name());
            g.writeStringField("unit", profile.type().unit());
            g.writeNumberField("period", profile.type().period());
            g.writeEndObject();
            g.writeObjectFieldStart("timeRange");
            g.writeStringField("start", profile.start().toString());
            g.writeStringField("end", profile.end().toString());
            g.writeNumberField("durationNanos", profile.duration().toNanos());
            g.writeEndObject();
            g.writeObjectFieldStart("labels");
            for (Map.Entry<String, String> e : profile.labels().entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
            g.writeNumberField("totalSamples", profile.totalCount());
            g.writeNumberField("uniqueStacks", stacks.size());
            writeStats(g, profile.stats());
            g.writeArrayFieldStart("frames");
            for (Frame f : frames) {
                g.writeStartObject();
                g.writeStringField("name", f.displayName());
                g.writeStringField("function", f.function());
                g.writeStringField("module", f.module());
                g.writeStringField("buildId", f.buildId());
                g.writeNumberField("offset", f.offset());
                g.writeStringField("kind", f.kind().name().toLowerCase(Locale.ROOT));
                g.writeStringField("file", f.file());
                g.writeNumberField("line", f.line());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("stacks");
            for (Stack st : stacks) {
                g.writeStartObject();
                g.writeStringField("id", st.id().toHex());
                g.writeArrayFieldStart("frames");
                for (Frame f : st.frames()) {
                    g.writeNumber(frameIds.get(f));
                }
                g.writeEndArray();
                g.writeBooleanField("truncated", st.truncated());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("samples");
            for (Sample s : profile.samples()) {
                g.writeStartObject();
                g.writeNumberField("stack", stackIds.get(s.stack()));
                g.writeStringField("thread", s.thread());
                g.writeNumberField("count", s.count());
                if (s.instructions() >= 0) {
                    g.writeNumberField("instructions", s.instructions());
                } else {
                    g.writeNullField("instructions");
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeRaw('\n');
        }
    }

    private static void writeStats(JsonGenerator g, ProfileStats stats) throws IOException {
        g.writeObjectFieldStart("stats");
        g.writeNumberField("lost", stats.lost());
        g.writeNumberField("throttled", stats.throttled());
        g.writeNumberField("tableOverflow", stats.tableOverflow());
        g.writeNumberField("truncatedStacks", stats.truncatedStacks());
        writeMeasured(g, "targetCpuNanos", stats.targetCpuNanos());
        writeMeasured(g, "targetMaxRssBytes", stats.targetMaxRssBytes());
        writeMeasured(g, "instructions", stats.instructions());
        if (stats.unwinding().isPresent()) {
            Unwinding u = stats.unwinding().get();
            g.writeObjectFieldStart("unwinding");
            g.writeStringField("method", u.method());
            g.writeNumberField("stackBytes", u.stackBytes());
            g.writeNumberField("depthCuts", u.depthCuts());
            g.writeNumberField("stackCopyCuts", u.stackCopyCuts());
            g.writeNumberField("noUnwindInfoCuts", u.noUnwindInfoCuts());
            g.writeNumberField("corruptCuts", u.corruptCuts());
            g.writeEndObject();
        } else {
            g.writeStringField("unwinding", NOT_AVAILABLE);
        }
        g.writeEndObject();
    }

    private static void writeMeasured(JsonGenerator g, String name, OptionalLong value) throws IOException {
        if (value.isPresent()) {
            g.writeNumberField(name, value.getAsLong());
        } else {
            g.writeStringField(name, NOT_AVAILABLE);
        }
    }
}
