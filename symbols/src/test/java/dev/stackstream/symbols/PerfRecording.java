package dev.stackstream.symbols;

import dev.stackstream.profile.Frame;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code perf record -g} of a live process, read back three ways: perf's raw sample dump
 * ({@code perf script -D}: absolute callchain addresses, which we symbolize ourselves), perf's own
 * per-frame names ({@code perf script -F ip,sym,dso}) and {@code perf report}'s self overhead.
 */
final class PerfRecording {
    /** PERF_CONTEXT_* markers are the top 4095 values of the address space. */
    private static final long PERF_CONTEXT_MAX = -4095L;
    private static final long PERF_CONTEXT_KERNEL = -128L;
    private static final long PERF_CONTEXT_USER = -512L;
    private static final Pattern SAMPLE = Pattern.compile(
            "PERF_RECORD_SAMPLE\\([^)]*\\): (-?\\d+)/(-?\\d+): 0x([0-9a-f]+) period: (\\d+)");
    private static final Pattern CHAIN_ENTRY = Pattern.compile("^\\.{5}\\s+\\d+: ([0-9a-f]+)$");
    private static final Pattern FRAME = Pattern.compile("^\\s+([0-9a-f]+) (.*) \\((.*)\\)$");
    /** {@code PERF_RECORD_MMAP2 pid/tid: [0xADDR(0xLEN) @ 0xPGOFF ...]: r-xp PATH} (synthesized at start, then the kernel's). */
    private static final Pattern MMAP2 = Pattern.compile(
            "PERF_RECORD_MMAP2 (-?\\d+)/-?\\d+: \\[0x([0-9a-f]+)\\(0x([0-9a-f]+)\\) @ (?:0x)?([0-9a-f]+) [^\\]]*\\]: (\\S+) (.*)$");
    private static final Pattern REPORT = Pattern.compile("^\\s+([0-9.]+)%\\s+\\[(.)\\]\\s+(.*?)\\s*$");

    /** One raw sample: pid, period, ips leaf first, how many are kernel addresses. */
    record RawSample(int pid, long period, long[] ips, int kernelDepth) {
    }

    /** An executable mapping perf recorded, in record order. */
    record ExecMapping(int pid, long start, long length, long fileOffset, String path) {
    }

    final List<RawSample> samples = new ArrayList<>();
    /** Every executable mapping in the recording (perf's start-up snapshot, then each one the kernel reported). */
    final List<ExecMapping> execMappings = new ArrayList<>();
    /** perf report --no-children: symbol -> self percentage (named symbols only). */
    final Map<String, Double> perfSelf = new HashMap<>();
    /** perf script: dso basename -> {named frames, all frames}. */
    final Map<String, long[]> perfFrames = new HashMap<>();
    long totalPeriod;
    /** perf's leaves (one per sample), and those it named; likewise for leaves in perf maps. */
    long perfLeaves;
    long perfNamedLeaves;
    long perfMapLeaves;
    long perfMapNamedLeaves;
    /** perf's leaves in no module it knew ("[unknown]" dso). */
    long perfLeavesWithoutDso;

    static boolean perfAvailable() {
        return TestPrograms.onPath("perf");
    }

    /**
     * Records pid for the given seconds at 999 Hz with frame-pointer callchains, counted from when
     * perf's events are on (perf spent most of a fixed {@code -- sleep 2} synthesizing before it
     * enabled them on a loaded machine: 27 samples of 2 s).
     */
    static PerfRecording record(int pid, double seconds, Path dir) throws IOException, InterruptedException {
        Path data = dir.resolve("perf-" + pid + ".data");
        try (PerfRecorder perf = PerfRecorder.start(List.of("-e", "cpu-clock", "-F", "999", "-g"), pid, data, dir)) {
            Thread.sleep((long) (seconds * 1000)); // the recording's length: perf samples meanwhile
            perf.stop();
        }
        return read(data);
    }

    /**
     * Reads only the raw samples and, when asked, perf's leaf per sample (perf's naming is what
     * costs: it loads every binary's symbols).
     */
    static PerfRecording readLeaves(Path data, boolean perfNames) throws IOException, InterruptedException {
        PerfRecording r = new PerfRecording();
        r.parseDump(TestPrograms.output(List.of("perf", "script", "-i", data.toString(), "-D")));
        if (perfNames) {
            r.parseLeaves(TestPrograms.output(List.of("perf", "script", "-i", data.toString(), "-G", "-F",
                    "ip,sym,dso")));
        }
        return r;
    }

    /** Reads a recording perf wrote. */
    static PerfRecording read(Path data) throws IOException, InterruptedException {
        PerfRecording r = new PerfRecording();
        r.parseDump(TestPrograms.output(List.of("perf", "script", "-i", data.toString(), "-D")));
        r.parseFrames(TestPrograms.output(List.of("perf", "script", "-i", data.toString(), "-F", "ip,sym,dso")));
        r.parseReport(TestPrograms.output(List.of("perf", "report", "-i", data.toString(), "--stdio",
                "--no-children", "--sort", "sym", "-g", "none", "--percent-limit", "0")));
        r.parseLeaves(TestPrograms.output(List.of("perf", "script", "-i", data.toString(), "-G", "-F", "ip,sym,dso")));
        return r;
    }

    /** perf script -G: one line per sample, its leaf; counts perf's named leaves (all, and in perf maps). */
    private void parseLeaves(String text) {
        for (String line : text.split("\n")) {
            Matcher m = FRAME.matcher(line);
            if (m.matches()) {
                boolean named = !m.group(2).startsWith("[unknown]");
                perfLeaves++;
                perfNamedLeaves += named ? 1 : 0;
                perfLeavesWithoutDso += m.group(3).equals("[unknown]") ? 1 : 0;
                if (Frame.baseName(m.group(3)).matches("perf-\\d+\\.map")) {
                    perfMapLeaves++;
                    perfMapNamedLeaves += named ? 1 : 0;
                }
            }
        }
    }

    /** perf's named frames (anywhere in the stacks) in perf maps. */
    long perfMapNamedFrames() {
        return perfFrames.entrySet().stream().filter(e -> e.getKey().matches("perf-\\d+\\.map"))
                .mapToLong(e -> e.getValue()[0]).sum();
    }

    private void parseDump(String text) {
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            Matcher mm = MMAP2.matcher(lines[i]);
            if (mm.find()) {
                if (mm.group(5).length() >= 3 && mm.group(5).charAt(2) == 'x') {
                    execMappings.add(new ExecMapping(Integer.parseInt(mm.group(1)), Long.parseUnsignedLong(mm.group(2), 16),
                            Long.parseUnsignedLong(mm.group(3), 16), Long.parseUnsignedLong(mm.group(4), 16),
                            mm.group(6).strip()));
                }
                continue;
            }
            Matcher m = SAMPLE.matcher(lines[i]);
            if (!m.find()) {
                continue;
            }
            int pid = Integer.parseInt(m.group(1));
            long period = Long.parseLong(m.group(4));
            List<Long> kernel = new ArrayList<>();
            List<Long> user = new ArrayList<>();
            List<Long> current = null;
            int j = i + 1;
            if (j < lines.length && lines[j].contains("chain: nr:")) {
                j++;
                for (; j < lines.length; j++) {
                    Matcher e = CHAIN_ENTRY.matcher(lines[j].trim().isEmpty() ? "" : lines[j]);
                    if (!e.find()) {
                        break;
                    }
                    long ip = Long.parseUnsignedLong(e.group(1), 16);
                    if (Long.compareUnsigned(ip, PERF_CONTEXT_MAX) >= 0) {
                        current = ip == PERF_CONTEXT_KERNEL ? kernel : ip == PERF_CONTEXT_USER ? user : null;
                    } else if (current != null) {
                        current.add(ip);
                    }
                }
            } else {
                user.add(Long.parseUnsignedLong(m.group(3), 16));
            }
            long[] ips = new long[kernel.size() + user.size()];
            int k = 0;
            for (long ip : kernel) {
                ips[k++] = ip;
            }
            for (long ip : user) {
                ips[k++] = ip;
            }
            if (ips.length > 0) {
                samples.add(new RawSample(pid, period, ips, kernel.size()));
                totalPeriod += period;
            }
        }
    }

    private void parseFrames(String text) {
        for (String line : text.split("\n")) {
            Matcher m = FRAME.matcher(line);
            if (m.matches()) {
                String dso = Frame.baseName(m.group(3));
                long[] c = perfFrames.computeIfAbsent(dso, d -> new long[2]);
                if (!m.group(2).startsWith("[unknown]")) {
                    c[0]++;
                }
                c[1]++;
            }
        }
    }

    private void parseReport(String text) {
        for (String line : text.split("\n")) {
            Matcher m = REPORT.matcher(line);
            if (m.matches()) {
                String sym = m.group(3);
                if (!sym.startsWith("0x")) {
                    perfSelf.merge(sym, Double.parseDouble(m.group(1)), Double::sum);
                }
            }
        }
    }

    /** Our side: every raw sample symbolized; self percentage per named leaf, frames per module. */
    static final class Ours {
        final Map<String, Double> self = new HashMap<>();
        final Map<String, long[]> frames = new HashMap<>();
        final List<List<Frame>> stacks = new ArrayList<>();

        /** Leaves (one per sample) that got a name. */
        long namedLeaves() {
            return stacks.stream().filter(st -> st.get(st.size() - 1).isResolved()).count();
        }

        /** Leaves with no module at all ([unknown]: in no mapping we knew). */
        long leavesWithoutModule() {
            return stacks.stream().filter(st -> st.get(st.size() - 1).module() == null).count();
        }

        /** Named frames (anywhere in the stacks) from perf maps. */
        long perfMapNamedFrames() {
            return frames.entrySet().stream().filter(e -> e.getKey().matches("perf-\\d+\\.map"))
                    .mapToLong(e -> e.getValue()[0]).sum();
        }

        /** Leaves named through a perf map. */
        long perfMapNamedLeaves() {
            return stacks.stream().map(st -> st.get(st.size() - 1))
                    .filter(f -> f.isResolved() && f.module() != null && Frame.baseName(f.module()).matches("perf-\\d+\\.map"))
                    .count();
        }
    }

    Ours symbolize(Symbolizer s) {
        Ours o = new Ours();
        for (RawSample r : samples) {
            List<Frame> frames = s.symbolize(r.pid(), r.ips(), r.kernelDepth());
            o.stacks.add(frames);
            Frame leaf = frames.get(frames.size() - 1);
            if (leaf.isResolved()) {
                o.self.merge(leaf.function(), 100.0 * r.period() / totalPeriod, Double::sum);
            }
            for (Frame f : frames) {
                String dso = f.module() == null ? "[unknown]" : Frame.baseName(f.module());
                long[] c = o.frames.computeIfAbsent(dso, d -> new long[2]);
                if (f.isResolved()) {
                    c[0]++;
                }
                c[1]++;
            }
        }
        return o;
    }

    /** The n highest entries of a percentage map, highest first. */
    static List<Map.Entry<String, Double>> top(Map<String, Double> m, int n) {
        return m.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(n)
                .toList();
    }
}
