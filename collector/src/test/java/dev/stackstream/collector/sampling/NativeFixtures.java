package dev.stackstream.collector.sampling;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Locates the native test fixtures (built by the native module) and reads profiles of them. */
public final class NativeFixtures {
    private NativeFixtures() {
    }

    /** A fixture executable under ${stackstream.native.dir}/fixtures; fails the test when it is not built. */
    public static Path fixture(String name) {
        String dir = System.getProperty("stackstream.native.dir", "../native/target/native");
        Path p = Path.of(dir, "fixtures", name).toAbsolutePath();
        assertTrue(Files.isExecutable(p), "native fixture " + p + " is not built (mvn -o -pl native install)");
        return p;
    }

    /** Samples whose stack ends in a frame named leaf. */
    public static long leafCount(Profile p, String leaf) {
        return p.samples().stream().filter(s -> leaf.equals(name(s.stack().leaf()))).mapToLong(Sample::count).sum();
    }

    /** Whether some stack has `first` somewhere above the adjacent frames `rest...` ending at the leaf. */
    public static boolean hasPath(Profile p, String first, String... rest) {
        for (Sample s : p.samples()) {
            List<Frame> f = s.stack().frames();
            int n = f.size();
            if (n < rest.length + 1) {
                continue;
            }
            boolean tail = true;
            for (int i = 0; i < rest.length; i++) {
                tail &= rest[i].equals(name(f.get(n - rest.length + i)));
            }
            if (!tail) {
                continue;
            }
            for (int i = 0; i < n - rest.length; i++) {
                if (first.equals(name(f.get(i)))) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String name(Frame f) {
        return f == null ? null : f.function();
    }
}
