package dev.stackstream.profile.render;

import dev.stackstream.profile.folded.FoldedStacks;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.pprof.PprofProto;
import java.io.IOException;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.GZIPOutputStream;

/**
 * pprof's gzipped protobuf ({@code profile.pb.gz}), readable by {@code go tool pprof}. Classes are
 * generated from src/main/proto/pprof.proto by the build (protoc from Maven Central): the schema
 * is then checked by protoc and the same classes parse the output back in tests, which hand
 * written CodedOutputStream calls would not give us.
 *
 * <ul>
 *   <li>sample_type: {@code samples/count} and the profile's own measure ({@code cpu/nanoseconds}
 *       for CPU profiles): value[1] = count * period; period_type and period from the profile type;</li>
 *   <li>string_table[0] = "", every id non-zero, location_id leaf first;</li>
 *   <li>one mapping per module (file name and build-id, has_functions when any of its frames is
 *       named), one location per distinct frame (address = offset in the module), one function per
 *       distinct name + module, named as in collapsed output (kernel frames keep {@code _[k]}, so
 *       the top functions equal {@link dev.stackstream.profile.report.Summary}'s);</li>
 *   <li>per-thread samples carry a {@code thread} label; the profile's labels become comments.</li>
 * </ul>
 */
public final class PprofRenderer implements Renderer {

    @Override
    public String format() {
        return "pprof";
    }

    @Override
    public String mediaType() {
        return "application/vnd.google.protobuf+gzip";
    }

    @Override
    public String defaultFileName() {
        return "profile.pb.gz";
    }

    @Override
    public void render(Profile profile, RenderOptions options, OutputStream out) throws IOException {
        GZIPOutputStream gz = new GZIPOutputStream(new NonClosing(out), 1 << 16);
        toProto(profile).writeTo(gz);
        gz.finish();
        gz.flush();
    }

    /** The profile as a pprof message (not gzipped). */
    public static PprofProto.Profile toProto(Profile profile) {
        Strings strings = new Strings();
        PprofProto.Profile.Builder p = PprofProto.Profile.newBuilder();
        String measure = profile.type().name().equals("samples") ? "events" : profile.type().name();
        p.addSampleType(valueType(strings, "samples", "count"));
        p.addSampleType(valueType(strings, measure, profile.type().unit()));
        p.setPeriodType(valueType(strings, measure, profile.type().unit()));
        p.setPeriod(profile.type().period());
        p.setDefaultSampleType(strings.id(measure));
        p.setTimeNanos(profile.start().getEpochSecond() * 1_000_000_000L + profile.start().getNano());
        p.setDurationNanos(profile.duration().toNanos());
        profile.labels().forEach((k, v) -> p.addComment(strings.id(k + "=" + v)));

        Map<String, Long> mappings = new HashMap<>();
        Map<String, PprofProto.Mapping.Builder> mappingBuilders = new java.util.LinkedHashMap<>();
        Map<Frame, Long> locations = new HashMap<>();
        Map<String, Long> functions = new HashMap<>();
        long threadKey = strings.id("thread");
        long period = profile.type().period();
        for (Sample s : profile.samples()) {
            if (s.count() == 0) {
                continue;
            }
            PprofProto.Sample.Builder sample = PprofProto.Sample.newBuilder();
            List<Frame> frames = s.stack().frames();
            for (int i = frames.size() - 1; i >= 0; i--) {
                Frame f = frames.get(i);
                Long loc = locations.get(f);
                if (loc == null) {
                    loc = (long) locations.size() + 1;
                    locations.put(f, loc);
                    p.addLocation(location(p, f, loc, strings, mappings, mappingBuilders, functions));
                }
                sample.addLocationId(loc);
            }
            sample.addValue(s.count());
            sample.addValue(s.count() * period);
            if (s.thread() != null) {
                sample.addLabel(PprofProto.Label.newBuilder().setKey(threadKey).setStr(strings.id(s.thread())));
            }
            p.addSample(sample);
        }
        mappingBuilders.values().forEach(p::addMapping);
        p.addAllStringTable(strings.table);
        return p.build();
    }

    private static PprofProto.Location location(PprofProto.Profile.Builder p, Frame f, long id, Strings strings,
                                                Map<String, Long> mappings,
                                                Map<String, PprofProto.Mapping.Builder> mappingBuilders,
                                                Map<String, Long> functions) {
        PprofProto.Location.Builder loc = PprofProto.Location.newBuilder().setId(id);
        if (f.module() != null) {
            String key = f.module() + "\0" + Objects.toString(f.buildId(), "");
            Long mid = mappings.get(key);
            if (mid == null) {
                mid = (long) mappings.size() + 1;
                mappings.put(key, mid);
                PprofProto.Mapping.Builder m = PprofProto.Mapping.newBuilder().setId(mid)
                        .setFilename(strings.id(f.module()));
                if (f.buildId() != null) {
                    m.setBuildId(strings.id(f.buildId()));
                }
                mappingBuilders.put(key, m);
            }
            PprofProto.Mapping.Builder m = mappingBuilders.get(key);
            if (f.isResolved()) {
                m.setHasFunctions(true);
            }
            if (f.file() != null) {
                m.setHasFilenames(true);
            }
            if (f.line() > 0) {
                m.setHasLineNumbers(true);
            }
            loc.setMappingId(mid);
        }
        if (f.offset() >= 0) {
            loc.setAddress(f.offset());
        }
        String name = FoldedStacks.name(f);
        String fkey = name + "\0" + Objects.toString(f.module(), "") + "\0" + Objects.toString(f.file(), "");
        Long fid = functions.get(fkey);
        if (fid == null) {
            fid = (long) functions.size() + 1;
            functions.put(fkey, fid);
            PprofProto.Function.Builder fn = PprofProto.Function.newBuilder().setId(fid)
                    .setName(strings.id(name))
                    .setSystemName(strings.id(f.function() != null ? f.function() : name));
            if (f.file() != null) {
                fn.setFilename(strings.id(f.file()));
            }
            p.addFunction(fn);
        }
        PprofProto.Line.Builder line = PprofProto.Line.newBuilder().setFunctionId(fid);
        if (f.line() > 0) {
            line.setLine(f.line());
        }
        return loc.addLine(line).build();
    }

    private static PprofProto.ValueType valueType(Strings strings, String type, String unit) {
        return PprofProto.ValueType.newBuilder().setType(strings.id(type)).setUnit(strings.id(unit)).build();
    }

    /** The string table: index 0 is "" as pprof requires. */
    private static final class Strings {
        final List<String> table = new java.util.ArrayList<>(List.of(""));
        final Map<String, Long> ids = new HashMap<>(Map.of("", 0L));

        long id(String s) {
            Long id = ids.get(s);
            if (id == null) {
                id = (long) table.size();
                table.add(s);
                ids.put(s, id);
            }
            return id;
        }
    }

    /** Lets the gzip stream finish without closing the caller's stream. */
    private static final class NonClosing extends java.io.FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
