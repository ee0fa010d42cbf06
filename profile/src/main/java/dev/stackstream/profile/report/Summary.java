package dev.stackstream.profile.report;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileStats;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.Stack;
import dev.stackstream.profile.Unwinding;
import dev.stackstream.profile.folded.FoldedStacks;
import dev.stackstream.profile.render.RenderOptions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The profile report (what {@code summary.txt} holds): time range and elapsed time, samples
 * and the rate achieved, unique stacks, loss counters, the hottest paths, top functions by self
 * and by total, the per-thread split, and what was measured beside the stacks (CPU time, memory,
 * instructions) — with the words {@value #NOT_AVAILABLE} where a measurement is absent, never a
 * zero that looks measured.
 *
 * <p>A record so Jackson serialises it as is (every component is a JSON-friendly type; times are
 * ISO-8601 strings, absent numbers are {@code null}). {@link #toText()} gives the terminal /
 * {@code summary.txt} form.
 *
 * @param type profile type name (cpu, page-faults...)
 * @param unit unit of a sample's weight
 * @param period weight of one sample in unit
 * @param start start of the time range, ISO-8601
 * @param end end of the time range, ISO-8601
 * @param elapsedSeconds end - start in seconds
 * @param samples total sample count
 * @param rateHz samples per second achieved over the time range, or null when it is empty
 * @param uniqueStacks distinct stacks, threads merged
 * @param lost samples the kernel dropped
 * @param throttled throttle events
 * @param tableOverflow samples not counted because the stack table was full
 * @param truncatedStacks samples whose stack does not reach its root (depth limit, or unwinding
 *     stopped early)
 * @param unwinding unwinding method, stack copy size and cuts by reason; null when the profile
 *     does not say (older collector, profile read from a file)
 * @param hottestPaths the {@value #TOP} stacks with the most samples, most first
 * @param topSelf the {@value #TOP} functions with the most samples as the leaf
 * @param topTotal the {@value #TOP} functions on the most samples' stacks
 * @param threads samples per thread, most first; empty when the profile was not taken per thread
 * @param measurements target CPU time, max RSS and instructions: measured or {@value #NOT_AVAILABLE}
 * @param instructionHotspots stacks with the most instructions retired; empty when not measured
 */
public record Summary(String type, String unit, long period, String start, String end,
                      double elapsedSeconds, long samples, Double rateHz, long uniqueStacks,
                      long lost, long throttled, long tableOverflow, long truncatedStacks,
                      Unwinding unwinding, List<PathShare> hottestPaths, List<FunctionShare> topSelf,
                      List<FunctionShare> topTotal, List<ThreadShare> threads,
                      List<Measurement> measurements, List<PathShare> instructionHotspots) {

    /** How many paths and functions the report lists. */
    public static final int TOP = 15;
    /** The words printed for a measurement the profile does not have. */
    public static final String NOT_AVAILABLE = "not available";

    /** A stack (collapsed text, root first) with its samples and share of the total. */
    public record PathShare(String stack, long count, double percent) { }

    /** A function with samples where it is the leaf (self) and where it is anywhere on the stack (total). */
    public record FunctionShare(String function, long self, double selfPercent, long total, double totalPercent) { }

    /** A thread with its samples and share. */
    public record ThreadShare(String thread, long count, double percent) { }

    /**
     * Something measured beside the stacks.
     *
     * @param name what it is
     * @param value the value in unit, or null when not measured
     * @param unit unit of value
     * @param text value for people, or {@value Summary#NOT_AVAILABLE}
     */
    public record Measurement(String name, Long value, String unit, String text) {
        public boolean available() {
            return value != null;
        }
    }

    /** Computes the summary of profile. */
    public static Summary of(Profile profile) {
        long total = profile.totalCount();
        double elapsed = profile.duration().toNanos() / 1e9;
        Map<Stack, Long> byStack = new HashMap<>();
        Map<String, Long> byThread = new HashMap<>();
        FunctionCosts functions = new FunctionCosts(FoldedStacks::name);
        Map<Stack, Long> instructions = new HashMap<>();
        boolean perThread = false;
        for (Sample s : profile.samples()) {
            byStack.merge(s.stack(), s.count(), Long::sum);
            if (s.thread() != null) {
                perThread = true;
                byThread.merge(s.thread(), s.count(), Long::sum);
            }
            if (s.instructions() >= 0) {
                instructions.merge(s.stack(), s.instructions(), Long::sum);
            }
            functions.add(s.stack(), s.count());
        }
        if (perThread) {
            // samples without a thread in a per-thread profile still belong in the split
            long unattributed = total - byThread.values().stream().mapToLong(Long::longValue).sum();
            if (unattributed > 0) {
                byThread.merge("[no thread]", unattributed, Long::sum);
            }
        }

        List<PathShare> paths = topPaths(byStack, total);
        List<FunctionShare> topSelf = topFunctions(functions.self(), functions.total(), total, true);
        List<FunctionShare> topTotal = topFunctions(functions.self(), functions.total(), total, false);
        List<ThreadShare> threads = new ArrayList<>();
        byThread.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .forEach(e -> threads.add(new ThreadShare(e.getKey(), e.getValue(), percent(e.getValue(), total))));
        ProfileStats st = profile.stats();
        List<Measurement> measurements = List.of(
                measured("target CPU time", st.targetCpuNanos(), "nanoseconds", Summary::formatNanos),
                measured("target max RSS", st.targetMaxRssBytes(), "bytes", Summary::formatBytes),
                measured("instructions retired", st.instructions(), "count", v -> String.format("%,d", v)));
        long instrTotal = instructions.values().stream().mapToLong(Long::longValue).sum();
        List<PathShare> hotspots = instructions.isEmpty() ? List.of() : topPaths(instructions, instrTotal);
        Double rate = elapsed > 0 ? total / elapsed : null;
        return new Summary(profile.type().name(), profile.type().unit(), profile.type().period(),
                profile.start().toString(), profile.end().toString(), elapsed, total, rate,
                byStack.size(), st.lost(), st.throttled(), st.tableOverflow(), st.truncatedStacks(),
                st.unwinding().orElse(null), paths, topSelf, topTotal, List.copyOf(threads), measurements, hotspots);
    }

    private static List<PathShare> topPaths(Map<Stack, Long> counts, long total) {
        Map<String, Long> byText = new HashMap<>();
        counts.forEach((stack, c) -> byText.merge(FoldedStacks.text(stack), c, Long::sum));
        return byText.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .limit(TOP)
                .map(e -> new PathShare(e.getKey(), e.getValue(), percent(e.getValue(), total)))
                .toList();
    }

    private static List<FunctionShare> topFunctions(Map<String, Long> self, Map<String, Long> inclusive,
                                                    long total, boolean bySelf) {
        // ties broken by name, as go tool pprof -top orders them, so both list the same functions
        Comparator<String> order = Comparator.comparingLong((String f) -> bySelf
                        ? self.getOrDefault(f, 0L) : inclusive.getOrDefault(f, 0L)).reversed()
                .thenComparing(Comparator.naturalOrder());
        return inclusive.keySet().stream()
                .filter(f -> !bySelf || self.getOrDefault(f, 0L) > 0)
                .sorted(order)
                .limit(TOP)
                .map(f -> {
                    long s = self.getOrDefault(f, 0L);
                    long t = inclusive.getOrDefault(f, 0L);
                    return new FunctionShare(f, s, percent(s, total), t, percent(t, total));
                })
                .toList();
    }

    private static Measurement measured(String name, OptionalLong v, String unit,
                                        java.util.function.LongFunction<String> format) {
        return v.isPresent()
                ? new Measurement(name, v.getAsLong(), unit, format.apply(v.getAsLong()))
                : new Measurement(name, null, unit, NOT_AVAILABLE);
    }

    private static double percent(long part, long total) {
        return total == 0 ? 0.0 : Math.round(part * 10000.0 / total) / 100.0;
    }

    static String formatNanos(long ns) {
        return String.format(java.util.Locale.ROOT, "%.3f s", ns / 1e9);
    }

    static String formatBytes(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB (%d bytes)", bytes / 1048576.0, bytes);
    }

    /** The report for people: summary.txt and the terminal. */
    public String toText() {
        return SummaryText.format(this);
    }
}
