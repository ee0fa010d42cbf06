package dev.stackstream.profile.io;


import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads {@code perf script} output (sample header line, then one line per frame, leaf first, then
 * a blank line) with the semantics of FlameGraph's stackcollapse-perf.pl, so the collapsed output
 * equals that tool's for the same input and options (see profile/README.md for the few deliberate
 * differences):
 * <ul>
 *   <li>the process name (comm, spaces turned into {@code _}) becomes the root frame, with
 *       {@code -pid} ({@link Options#pid}) or {@code -pid/tid} ({@link Options#tid}) appended;
 *       perf output without a pid gives {@code ?};</li>
 *   <li>each sample weighs its period when perf printed one, else 1;</li>
 *   <li>only samples of the first event type seen are kept (merging cycles and instructions would
 *       mislead), unless {@link Options#event} names one;</li>
 *   <li>symbol offsets ({@code +0x1f}) and argument lists are stripped, quotes removed, {@code ;}
 *       replaced by {@code :}; Java signatures lose their leading {@code L} when comm is java;
 *       {@code a->b} inline chains become several frames, the inlined ones suffixed {@code _[i]};</li>
 *   <li>{@code [unknown]} symbols take their module's file name ({@code [libc.so.6]}), or stay
 *       {@code [unknown]}; with {@link Options#addrs} the address is added ({@code [unknown <7f12>]});</li>
 *   <li>kernel frames (module {@code [...]} or {@code ...vmlinux}) become {@link FrameKind#KERNEL}
 *       with {@link Options#kernel}, perf-map frames ({@code /tmp/perf-N.map}) {@link FrameKind#JIT}
 *       with {@link Options#jit}; otherwise they stay user frames, as the reference leaves them
 *       unannotated.</li>
 * </ul>
 * Lines that are neither are reported as warnings (like the reference), not fatal.
 */
public final class PerfScriptReader {
    // "comm pid[/tid] ..." : comm may contain spaces, so the first whitespace-number pair ends it
    private static final Pattern HEADER = Pattern.compile("^(\\S.+?)\\s+(\\d+)/*(\\d+)*\\s+");
    // "...: [period] event:" at the end of the header
    private static final Pattern EVENT = Pattern.compile(":\\s*(\\d+)*\\s+(\\S+):\\s*$");
    private static final Pattern TIME = Pattern.compile("\\s(\\d+\\.\\d+):");
    // "  pc symbol+0xoff (module)": the module is the last parenthesised word
    private static final Pattern FRAME = Pattern.compile("^\\s*(\\w+)\\s*(.+) \\((\\S*)\\)");
    private static final Pattern OFFSET = Pattern.compile("\\+0x[\\da-f]+$");
    private static final Pattern JIT_MAP = Pattern.compile("/tmp/perf-\\d+\\.map");
    private static final Pattern GO_METHOD = Pattern.compile("\\.\\(.*\\)\\.");
    private static final Pattern ARGS = Pattern.compile("\\((?!anonymous namespace\\)).*");

    /**
     * What the reader adds to the stacks, as stackcollapse-perf.pl's options of the same names.
     *
     * @param pid root frame {@code comm-pid}
     * @param tid root frame {@code comm-pid/tid} (wins over pid)
     * @param kernel kernel frames as {@link FrameKind#KERNEL} (collapsed suffix {@code _[k]})
     * @param jit perf-map frames as {@link FrameKind#JIT} (suffix {@code _[j]})
     * @param addrs unknown symbols keep their address
     * @param event keep only samples of this event; null = the first event type seen
     */
    public record Options(boolean pid, boolean tid, boolean kernel, boolean jit, boolean addrs, String event) {
        /** Comm only as root, no annotations: stackcollapse-perf.pl without options. */
        public static Options plain() {
            return new Options(false, false, false, false, false, null);
        }

        /** Kernel and JIT annotations: stackcollapse-perf.pl {@code --all}; the default for render. */
        public static Options all() {
            return new Options(false, false, true, true, false, null);
        }

        public Options withPid(boolean v) {
            return new Options(v, tid, kernel, jit, addrs, event);
        }

        public Options withTid(boolean v) {
            return new Options(pid, v, kernel, jit, addrs, event);
        }

        public Options withKernel(boolean v) {
            return new Options(pid, tid, v, jit, addrs, event);
        }

        public Options withJit(boolean v) {
            return new Options(pid, tid, kernel, v, addrs, event);
        }

        public Options withAddrs(boolean v) {
            return new Options(pid, tid, kernel, jit, v, event);
        }

        public Options withEvent(String v) {
            return new Options(pid, tid, kernel, jit, addrs, v);
        }
    }

    private final Options options;
    private final List<String> warnings = new ArrayList<>();

    public PerfScriptReader(Options options) {
        this.options = options;
    }

    /** Lines the last read could not parse (at most 100 kept), each with its line number. */
    public List<String> warnings() {
        return Collections.unmodifiableList(warnings);
    }

    /** Reads a perf script file (gzip allowed). */
    public Profile read(Path file) throws IOException {
        try (BufferedReader r = InputFiles.open(file)) {
            return read(r, file.toString());
        }
    }

    /**
     * Reads perf script text. The profile's type is the kept event (unit nanoseconds for
     * cpu-clock/task-clock samples that carry their period, count otherwise) with period 1, counts
     * being the summed sample periods (1 per sample without periods);
     * its time range spans the samples' perf timestamps (seconds on perf's clock, usually since
     * boot, read as seconds after the epoch).
     */
    public Profile read(Reader reader, String source) throws IOException {
        warnings.clear();
        BufferedReader in = reader instanceof BufferedReader b ? b : new BufferedReader(reader, 1 << 16);
        Map<String, Frame> frameCache = new HashMap<>();
        Map<Stack, long[]> counts = new java.util.LinkedHashMap<>();
        List<Frame> leafFirst = new ArrayList<>(128);
        String eventFilter = options.event();
        String pname = null;
        long period = 1;
        boolean weighted = false;
        double firstTime = Double.NaN;
        double lastTime = Double.NaN;
        String line;
        long lineNo = 0;
        while ((line = in.readLine()) != null) {
            lineNo++;
            if (line.startsWith("#")) {
                continue;
            }
            if (line.isEmpty()) {
                if (pname != null) {
                    endSample(counts, frameCache, pname, leafFirst, period);
                }
                leafFirst.clear();
                pname = null;
                continue;
            }
            Matcher h = HEADER.matcher(line);
            if (h.find()) {
                String comm = h.group(1);
                String pidText = h.group(3) != null ? h.group(2) : "?";
                String tidText = h.group(3) != null ? h.group(3) : h.group(2);
                Matcher e = EVENT.matcher(line);
                long p = 1;
                if (e.find()) {
                    String event = e.group(2);
                    if (eventFilter == null) {
                        eventFilter = event;
                    } else if (!event.equals(eventFilter)) {
                        pname = null;
                        leafFirst.clear();
                        continue;
                    }
                    if (e.group(1) != null) {
                        p = Long.parseLong(e.group(1));
                        weighted = true;
                    }
                }
                period = p == 0 ? 1 : p;
                String name = options.tid() ? comm + "-" + pidText + "/" + tidText
                        : options.pid() ? comm + "-" + pidText : comm;
                pname = name.replace(' ', '_');
                leafFirst.clear();
                Matcher t = TIME.matcher(line);
                if (t.find()) {
                    double ts = Double.parseDouble(t.group(1));
                    firstTime = Double.isNaN(firstTime) ? ts : Math.min(firstTime, ts);
                    lastTime = Double.isNaN(lastTime) ? ts : Math.max(lastTime, ts);
                }
                continue;
            }
            Matcher f = FRAME.matcher(line);
            if (f.find()) {
                if (pname == null) {
                    continue; // a frame of a filtered-out sample
                }
                addFrames(f.group(1), f.group(2), f.group(3), pname, leafFirst, frameCache);
                continue;
            }
            if (warnings.size() < 100) {
                warnings.add(source + ":" + lineNo + ": unrecognized line: " + ProfileFormatException.quote(line));
            }
        }
        // a file that does not end with a blank line still ends its last sample
        if (pname != null) {
            endSample(counts, frameCache, pname, leafFirst, period);
        }
        String event = eventFilter == null ? "samples" : eventFilter;
        // with periods, cpu-clock/task-clock counts are nanoseconds; without, they count samples
        String unit = weighted && (event.startsWith("cpu-clock") || event.startsWith("task-clock"))
                ? "nanoseconds" : "count";
        ProfileBuilder b = Profile.builder(new ProfileType(event, unit, 1));
        counts.forEach((stack, c) -> b.add(stack, null, c[0]));
        if (!Double.isNaN(firstTime)) {
            b.timeRange(toInstant(firstTime), toInstant(lastTime));
        }
        return b.build();
    }

    private static Instant toInstant(double seconds) {
        long s = (long) Math.floor(seconds);
        return Instant.ofEpochSecond(s, Math.round((seconds - s) * 1e9));
    }

    private static void endSample(Map<Stack, long[]> counts, Map<String, Frame> cache, String pname,
                                  List<Frame> leafFirst, long period) {
        List<Frame> rootFirst = new ArrayList<>(leafFirst.size() + 1);
        rootFirst.add(rootFrame(cache, pname));
        for (int i = leafFirst.size() - 1; i >= 0; i--) {
            rootFirst.add(leafFirst.get(i));
        }
        counts.computeIfAbsent(new Stack(rootFirst, false), k -> new long[1])[0] += period;
    }

    private static Frame rootFrame(Map<String, Frame> cache, String pname) {
        return cache.computeIfAbsent("\0comm\0" + pname, k -> Frame.named(pname, FrameKind.USER));
    }

    private void addFrames(String pc, String rawfunc, String mod, String pname, List<Frame> leafFirst,
                           Map<String, Frame> cache) {
        String raw = OFFSET.matcher(rawfunc).replaceFirst("");
        if (raw.startsWith("(")) {
            return; // perf prints process names in parentheses for some frames: not a function
        }
        String[] chain = raw.split("->", -1);
        List<Frame> inline = new ArrayList<>(chain.length);
        boolean kernelModule = options.kernel() && (mod.startsWith("[") || mod.endsWith("vmlinux"))
                && !mod.contains("unknown");
        boolean jitModule = options.jit() && JIT_MAP.matcher(mod).find();
        for (String part : chain) {
            String func = part;
            if (func.equals("[unknown]")) {
                String known = mod.equals("[unknown]") ? "unknown" : mod.substring(mod.lastIndexOf('/') + 1);
                func = options.addrs() ? "[" + known + " <" + pc + ">]" : "[" + known + "]";
            }
            func = func.replace(';', ':');
            if (!GO_METHOD.matcher(func).find()) {
                // argument lists are noise, except inside Go method names like net/http.(*Client).Do
                func = ARGS.matcher(func).replaceFirst("");
            }
            func = func.replace("\"", "").replace("'", "");
            if (pname.equals("java") && func.indexOf('/') >= 0 && func.startsWith("L")) {
                func = func.substring(1);
            }
            FrameKind kind = FrameKind.USER;
            if (!inline.isEmpty()) {
                if (!func.contains(FrameKind.INLINE_SUFFIX)) {
                    func = func + FrameKind.INLINE_SUFFIX;
                }
            } else if (kernelModule) {
                kind = FrameKind.KERNEL;
            } else if (jitModule && !func.contains(FrameKind.JIT.suffix())) {
                kind = FrameKind.JIT;
            }
            String fn = func;
            FrameKind k = kind;
            inline.add(cache.computeIfAbsent(k.ordinal() + "\0" + mod + "\0" + fn,
                    key -> new Frame(fn.isEmpty() ? "[empty]" : fn, mod.isEmpty() ? null : mod, null, -1, k, null, 0)));
        }
        // perf lists a->b as caller->callee inside one frame; stacks here are gathered leaf first
        for (int i = inline.size() - 1; i >= 0; i--) {
            leafFirst.add(inline.get(i));
        }
    }
}
