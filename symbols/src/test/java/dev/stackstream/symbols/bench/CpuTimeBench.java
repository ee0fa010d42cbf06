package dev.stackstream.symbols.bench;

import dev.stackstream.symbols.demangle.Demangler;
import dev.stackstream.symbols.elf.ElfModule;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The same measurements as {@link SymbolsBenchmark}, in CPU time of the measuring thread instead
 * of wall time: on a shared, overloaded build machine wall-clock throughput mostly measures the
 * other tenants. Prints medians of 5 rounds. Run: {@code symbols/bench/run-jmh.sh --cpu}.
 */
public final class CpuTimeBench {
    private CpuTimeBench() {
    }

    public static void main(String[] args) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        SymbolsBenchmark.Warm w = new SymbolsBenchmark.Warm();
        long t0 = mx.getCurrentThreadCpuTime();
        ElfModule first = ElfModule.load(Path.of(SymbolsBenchmark.LIBJVM), List.of(Path.of("/usr/lib/debug")),
                new Demangler(true), m -> { });
        long firstLoad = mx.getCurrentThreadCpuTime() - t0;
        System.out.printf("libjvm.so first load in a fresh JVM: %.1f ms CPU (%d symbols)%n", firstLoad / 1e6,
                first.symbols().size());
        w.setup();
        SymbolsBenchmark b = new SymbolsBenchmark();
        double[] stacks = new double[5];
        double[] module = new double[5];
        double[] coldJvm = new double[5];
        double[] coldLibc = new double[5];
        long sink = 0;
        for (int round = 0; round < 5; round++) {
            int n = 400_000;
            long s = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < n; i++) {
                sink += b.warmStackLookups(w).size();
            }
            stacks[round] = n * (double) SymbolsBenchmark.STACK / ((mx.getCurrentThreadCpuTime() - s) / 1e9);
            int m = 5_000_000;
            s = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < m; i++) {
                String name = b.warmModuleLookup(w);
                sink += name == null ? 0 : 1;
            }
            module[round] = m / ((mx.getCurrentThreadCpuTime() - s) / 1e9);
            coldJvm[round] = cold(mx, SymbolsBenchmark.LIBJVM);
            coldLibc[round] = cold(mx, "/usr/lib/x86_64-linux-gnu/libc.so.6");
        }
        w.close();
        System.out.printf("warm stack lookups: median %.0f addresses per CPU-second %s%n", median(stacks),
                Arrays.toString(round(stacks)));
        System.out.printf("warm module lookups (libjvm): median %.0f per CPU-second %s%n", median(module),
                Arrays.toString(round(module)));
        System.out.printf("cold load libjvm.so (JIT warm): median %.1f ms CPU %s%n", median(coldJvm),
                Arrays.toString(coldJvm));
        System.out.printf("cold load libc.so.6 + debug file (JIT warm): median %.1f ms CPU %s%n", median(coldLibc),
                Arrays.toString(coldLibc));
        System.out.println(sink == 42 ? "" : "done");
    }

    private static double cold(ThreadMXBean mx, String file) throws Exception {
        long s = mx.getCurrentThreadCpuTime();
        ElfModule.load(Path.of(file), List.of(Path.of("/usr/lib/debug")), new Demangler(true), m -> { });
        return Math.round((mx.getCurrentThreadCpuTime() - s) / 1e5) / 10.0;
    }

    private static long[] round(double[] v) {
        return Arrays.stream(v).mapToLong(Math::round).toArray();
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
