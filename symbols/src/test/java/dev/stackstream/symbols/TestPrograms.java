package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Builds and runs small native programs for tests (gcc/g++ and binutils are on every build machine). */
final class TestPrograms {
    private TestPrograms() {
    }

    /** A C program that prints the addresses of its functions, then burns CPU until killed. */
    static final String C_SOURCE = """
            #include <stdio.h>
            static volatile long sink;
            __attribute__((noinline)) static void hidden_work(long n) { for (long i = 0; i < n; i++) sink += i; }
            __attribute__((noinline)) void visible_work(long n) { hidden_work(n); sink++; }
            int main(void) {
                printf("%p %p %p\\n", (void *) &hidden_work, (void *) &visible_work, (void *) &main);
                fflush(stdout);
                for (;;) visible_work(1000000);
            }
            """;

    /** A C++ program whose functions have mangled names. */
    static final String CXX_SOURCE = """
            #include <cstdio>
            #include <vector>
            namespace stackstream { namespace test {
            template <typename T> struct Box { T v; __attribute__((noinline)) T twice(int k) const { return v * k; } };
            __attribute__((noinline)) long work(std::vector<int>& xs, const char* tag) {
                long s = 0; for (int x : xs) s += x + tag[0]; return s; }
            } }
            volatile long sink;
            int main() {
                std::vector<int> xs(100, 1);
                stackstream::test::Box<double> b{2.0};
                long (*w)(std::vector<int>&, const char*) = &stackstream::test::work;
                double (stackstream::test::Box<double>::*t)(int) const = &stackstream::test::Box<double>::twice;
                std::printf("%p %p\\n", (void*) w, *(void**) &t);
                std::fflush(stdout);
                for (;;) { sink += w(xs, "x"); sink += (long) (b.*t)(3); }
            }
            """;

    static Path compile(Path dir, String name, String source, boolean cxx, String... flags)
            throws IOException, InterruptedException {
        String compiler = cxx ? "g++" : "gcc";
        assumeTrue(onPath(compiler), compiler + " not installed");
        Path src = dir.resolve(name + (cxx ? ".cc" : ".c"));
        Files.writeString(src, source);
        Path out = dir.resolve(name);
        List<String> cmd = new ArrayList<>(List.of(compiler, "-O2", "-fno-omit-frame-pointer", "-o", out.toString(),
                src.toString()));
        cmd.addAll(List.of(flags));
        run(cmd);
        return out;
    }

    static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + output);
        }
    }

    static String output(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + output);
        }
        return output;
    }

    static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** A started program and the addresses it printed on its first line. */
    record Running(Process process, long[] addresses) implements AutoCloseable {
        int pid() {
            return (int) process.pid();
        }

        @Override
        public void close() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    static Running start(Path program) throws IOException {
        return start(new ProcessBuilder(program.toString()));
    }

    /** Starts a program that prints its addresses on its first line (a command line of its own: setpriv, env). */
    static Running start(ProcessBuilder pb) throws IOException {
        Process p = pb.redirectErrorStream(true).start();
        String program = String.join(" ", pb.command());
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        if (line == null) {
            p.destroyForcibly();
            throw new IOException(program + " printed nothing");
        }
        String[] f = line.trim().split("\\s+");
        long[] a = new long[f.length];
        for (int i = 0; i < f.length; i++) {
            a[i] = Long.parseUnsignedLong(f[i].substring(2), 16);
        }
        return new Running(p, a);
    }
}
