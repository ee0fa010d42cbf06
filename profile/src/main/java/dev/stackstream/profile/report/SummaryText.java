package dev.stackstream.profile.report;

import dev.stackstream.profile.Unwinding;
import java.util.List;
import java.util.Locale;

/** Lays a {@link Summary} out as fixed-width text. */
final class SummaryText {
    private static final int MAX_NAME = 100;

    private SummaryText() {
    }

    static String format(Summary s) {
        StringBuilder b = new StringBuilder(4096);
        b.append("stackstream profile summary\n");
        row(b, "profile type", s.type() + " (" + s.unit() + ", period " + s.period() + ")");
        row(b, "time range", s.start() + " .. " + s.end());
        row(b, "elapsed", f("%.3f s", s.elapsedSeconds()));
        row(b, "samples", f("%,d", s.samples()));
        // What the counts weigh: on-CPU, wall-clock or off-CPU seconds, or events (count * period).
        row(b, "total weight", "nanoseconds".equals(s.unit())
                ? f("%.3f s", s.samples() * (double) s.period() / 1e9)
                : f("%,d %s", s.samples() * s.period(), s.unit()));
        if (s.rateHz() == null) {
            row(b, "rate achieved", Summary.NOT_AVAILABLE + " (empty time range)");
        } else if ("cpu".equals(s.type())) {
            row(b, "rate achieved", f("%.1f samples/s (requested %.1f Hz)", s.rateHz(), 1e9 / s.period()));
        } else {
            row(b, "rate achieved", f("%.1f samples/s", s.rateHz()));
        }
        row(b, "unique stacks", f("%,d", s.uniqueStacks()));
        row(b, "lost samples", f("%,d", s.lost()));
        row(b, "throttled", f("%,d", s.throttled()));
        row(b, "table overflow", f("%,d", s.tableOverflow()));
        row(b, "truncated stacks", f("%,d", s.truncatedStacks()));
        if (s.unwinding() != null) {
            Unwinding u = s.unwinding();
            row(b, "  cut because", f("copy too short %,d, no unwind info %,d, corrupt %,d, depth limit %,d",
                    u.stackCopyCuts(), u.noUnwindInfoCuts(), u.corruptCuts(), u.depthCuts()));
            row(b, "stack unwinding", f("%s, %,d stack bytes copied per sample", u.method(), u.stackBytes()));
        }

        b.append("\nhottest paths (top ").append(Summary.TOP).append(")\n");
        if (s.hottestPaths().isEmpty()) {
            b.append("  (no samples)\n");
        }
        for (Summary.PathShare p : s.hottestPaths()) {
            b.append(f("  %10d %6.2f%%  ", p.count(), p.percent())).append(p.stack()).append('\n');
        }
        functions(b, "top functions by self", s.topSelf());
        functions(b, "top functions by total", s.topTotal());

        b.append("\nper thread\n");
        if (s.threads().isEmpty()) {
            b.append("  not recorded per thread\n");
        }
        for (Summary.ThreadShare t : s.threads()) {
            b.append(f("  %10d %6.2f%%  ", t.count(), t.percent())).append(t.thread()).append('\n');
        }

        b.append("\nmemory and instructions\n");
        for (Summary.Measurement m : s.measurements()) {
            row(b, m.name(), m.text());
        }
        if (s.instructionHotspots().isEmpty()) {
            row(b, "instruction hot spots", Summary.NOT_AVAILABLE);
        } else {
            b.append("  instruction hot spots\n");
            for (Summary.PathShare p : s.instructionHotspots()) {
                b.append(f("  %14d %6.2f%%  ", p.count(), p.percent())).append(p.stack()).append('\n');
            }
        }
        return b.toString();
    }

    private static void functions(StringBuilder b, String title, List<Summary.FunctionShare> list) {
        b.append('\n').append(title).append(" (top ").append(Summary.TOP).append(")\n");
        b.append(f("  %10s %7s %10s %7s  %s%n", "self", "self%", "total", "total%", "function"));
        for (Summary.FunctionShare fn : list) {
            String name = fn.function().length() > MAX_NAME ? fn.function().substring(0, MAX_NAME - 3) + "..." : fn.function();
            b.append(f("  %10d %6.2f%% %10d %6.2f%%  ", fn.self(), fn.selfPercent(), fn.total(), fn.totalPercent()))
                    .append(name).append('\n');
        }
    }

    private static void row(StringBuilder b, String name, String value) {
        b.append(f("  %-22s %s%n", name, value));
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
