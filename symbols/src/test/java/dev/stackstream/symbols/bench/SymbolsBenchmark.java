package dev.stackstream.symbols.bench;

import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import dev.stackstream.profile.Frame;
import dev.stackstream.symbols.Symbolizer;
import dev.stackstream.symbols.SymbolizerOptions;
import dev.stackstream.symbols.Symbolizers;
import dev.stackstream.symbols.demangle.Demangler;
import dev.stackstream.symbols.elf.ElfModule;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Symbolization speed: warm lookups (stacks of this JVM's own libc and libjvm addresses through
 * the full {@link Symbolizer}, and raw {@link ElfModule} lookups) and the cold load of a binary
 * (libjvm.so, 24 MB with a .symtab; libc with its separate debug file).
 * Run with {@code symbols/bench/run-jmh.sh}.
 */
public class SymbolsBenchmark {
    static final int STACK = 16;
    static final String LIBJVM = "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so";

    /** A warmed symbolizer and 1024 stacks of 16 addresses in libc and libjvm. */
    @State(Scope.Benchmark)
    public static class Warm {
        Symbolizer symbolizer;
        int pid;
        long[][] stacks;
        ElfModule libjvm;
        long[] offsets;
        int next;

        @Setup(Level.Trial)
        public void setup() throws Exception {
            symbolizer = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false));
            pid = (int) ProcessHandle.current().pid();
            String[] libc = {"malloc", "free", "memcpy", "strlen", "getpid", "read", "write", "qsort", "printf",
                    "fopen", "pthread_mutex_lock", "clock_gettime"};
            String[] jvm = {"JNI_CreateJavaVM", "JVM_GetStackAccessControlContext", "JVM_IHashCode",
                    "JVM_CurrentTimeMillis", "JVM_NanoTime", "JVM_ArrayCopy", "JVM_GetClassNameUTF", "JVM_Sleep"};
            Random rnd = new Random(42);
            stacks = new long[1024][STACK];
            for (long[] s : stacks) {
                for (int i = 0; i < STACK; i++) {
                    boolean c = rnd.nextBoolean();
                    String lib = c ? "c" : "jvm";
                    String[] names = c ? libc : jvm;
                    long base = Pointer.nativeValue(NativeLibrary.getInstance(lib).getFunction(
                            names[rnd.nextInt(names.length)]));
                    s[i] = base + 1 + rnd.nextInt(16);
                }
                symbolizer.symbolize(pid, s, 0);
            }
            libjvm = ElfModule.load(Path.of(LIBJVM), List.of(), new Demangler(true), m -> { });
            offsets = new long[4096];
            int n = libjvm.symbols().size();
            for (int i = 0; i < offsets.length; i++) {
                int k = rnd.nextInt(n);
                // libjvm's text is mapped at file offset == vaddr (checked by the tests' PT_LOAD math).
                offsets[i] = libjvm.symbols().start(k);
                libjvm.functionAt(offsets[i]);
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            symbolizer.close();
        }
    }

    /** Full path: one 16-frame stack per invocation; score is addresses per second. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(STACK)
    @Warmup(iterations = 3, time = 2)
    @Measurement(iterations = 5, time = 2)
    @Fork(1)
    public List<Frame> warmStackLookups(Warm w) {
        long[] s = w.stacks[w.next++ & 1023];
        return w.symbolizer.symbolize(w.pid, s, 0);
    }

    /** Symbol table alone: file offset to name in libjvm. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Warmup(iterations = 3, time = 2)
    @Measurement(iterations = 5, time = 2)
    @Fork(1)
    public String warmModuleLookup(Warm w) {
        return w.libjvm.functionAt(w.offsets[w.next++ & 4095]);
    }

    /** Cold load of one binary: map, parse, collect and sort symbols (names stay undecoded). */
    @State(Scope.Benchmark)
    public static class Cold {
        @Param({LIBJVM, "/usr/lib/x86_64-linux-gnu/libc.so.6"})
        public String file;
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 10)
    @Fork(3)
    public ElfModule coldLoad(Cold c) throws Exception {
        return ElfModule.load(Path.of(c.file), List.of(Path.of("/usr/lib/debug")), new Demangler(true), m -> { });
    }
}
