package dev.stackstream.collector.nativeapi;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import dev.stackstream.collector.sampling.ProfilerException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads libstackstream once per JVM and checks that it speaks the API version this binding was
 * written for.
 *
 * <p>Where the library comes from: the system property {@value #LIBRARY_PATH_PROPERTY} (an
 * absolute path to a {@code .so}, for development), else JNA's usual search, which finds the copy
 * packaged in the stackstream-native jar at {@code linux-x86-64/libstackstream.so} (or
 * {@code linux-aarch64/}) on the class path.
 */
public final class NativeLoader {
    /** System property naming an explicit library file to load instead of the packaged one. */
    public static final String LIBRARY_PATH_PROPERTY = "stackstream.library.path";
    /** The {@code SS_API_VERSION} this binding implements. */
    public static final int API_VERSION = 3;

    private static final Object LOCK = new Object();
    private static StackstreamLibrary library;
    private static ProfilerException failure;

    private NativeLoader() {
    }

    /**
     * The loaded library. A failure (unsupported platform, missing library, version mismatch) is
     * remembered and thrown again on every call, so callers get the same clear message each time.
     */
    public static StackstreamLibrary library() throws ProfilerException {
        synchronized (LOCK) {
            if (library == null && failure == null) {
                try {
                    library = load();
                } catch (ProfilerException e) {
                    failure = e;
                }
            }
            if (failure != null) {
                throw new ProfilerException(failure.getMessage(), failure.errorCode());
            }
            return library;
        }
    }

    private static StackstreamLibrary load() throws ProfilerException {
        if (!Platform.isLinux()) {
            throw new ProfilerException("stackstream samples through Linux perf_event_open; this is "
                    + System.getProperty("os.name") + ", which is not supported", 0);
        }
        String arch = Platform.ARCH;
        if (!"x86-64".equals(arch) && !"aarch64".equals(arch)) {
            throw new ProfilerException("libstackstream is built for Linux x86-64 and arm64 only; this"
                    + " JVM runs on " + arch + " (" + System.getProperty("os.arch") + ")", 0);
        }
        StackstreamLibrary lib;
        String explicit = System.getProperty(LIBRARY_PATH_PROPERTY);
        try {
            if (explicit != null && !explicit.isBlank()) {
                Path p = Path.of(explicit).toAbsolutePath();
                if (!Files.isRegularFile(p)) {
                    throw new ProfilerException("-D" + LIBRARY_PATH_PROPERTY + "=" + explicit
                            + " does not name a file", 0);
                }
                lib = Native.load(p.toString(), StackstreamLibrary.class);
            } else {
                lib = Native.load("stackstream", StackstreamLibrary.class);
            }
        } catch (UnsatisfiedLinkError e) {
            throw new ProfilerException("cannot load libstackstream (" + Platform.RESOURCE_PREFIX
                    + "/libstackstream.so is looked up on the class path, in the stackstream-native jar;"
                    + " or set -D" + LIBRARY_PATH_PROPERTY + "=/path/to/libstackstream.so): "
                    + e.getMessage(), e);
        }
        int version = lib.ss_api_version();
        if (version != API_VERSION) {
            throw new ProfilerException("libstackstream speaks API version " + version
                    + " but this collector was built for version " + API_VERSION
                    + "; use the stackstream-native jar of the same release", 0);
        }
        return lib;
    }

    /** The NUL-terminated message a native call wrote into err, or fallback when it is empty. */
    public static String message(byte[] err, String fallback) {
        int n = 0;
        while (n < err.length && err[n] != 0) {
            n++;
        }
        String s = new String(err, 0, n, StandardCharsets.UTF_8).strip();
        return s.isEmpty() ? fallback : s;
    }
}
