package dev.stackstream.symbols.demangle;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Demangles C++ (Itanium ABI) and Rust symbols with the C++ runtime's own demangler,
 * {@code abi::__cxa_demangle} from libstdc++.so.6, called through JNA.
 *
 * <p>Rust legacy symbols ({@code _ZN...17h<16 hex>E}) are Itanium-mangled paths: they go through the
 * same demangler, then the {@code ::h<hash>} suffix is dropped and Rust's {@code $...$} escapes
 * ({@code $LT$} for {@code <}, {@code $u20$} for a space...) and {@code ..} (for {@code ::}) are
 * decoded, as rustc's own demangler prints them. Rust v0 symbols ({@code _R...}) go through
 * GNU libiberty's Rust demangler ({@code cplus_demangle} with {@code DMGL_RUST}), which Debian ships
 * exported from binutils' shared {@code libbfd-*.so} (package libbinutils); where that library is
 * absent they are kept mangled and counted.
 *
 * <p>Anything else (C names, names the runtime rejects) is returned unchanged. Thread-safe.
 */
public final class Demangler implements UnaryOperator<String> {
    private static final Logger LOG = LoggerFactory.getLogger(Demangler.class);
    private static final Pattern RUST_HASH = Pattern.compile("::h[0-9a-f]{16}$");

    /** The libstdc++ entry point; the result is malloc'ed and must be freed with free(). */
    interface CxxAbi extends Library {
        Pointer __cxa_demangle(String mangled, Pointer outputBuffer, Pointer length, IntByReference status);
    }

    /** GNU libiberty's demangler (exported by binutils' libbfd); result malloc'ed. */
    interface Libiberty extends Library {
        Pointer cplus_demangle(String mangled, int options);
    }

    /** DMGL_PARAMS | DMGL_ANSI | DMGL_RUST from libiberty's demangle.h. */
    private static final int DMGL_RUST_OPTIONS = 1 | 2 | (1 << 17);
    private static final CxxAbi ABI = loadAbi();
    private static final Libiberty LIBIBERTY = loadLibiberty();
    private final LongAdder rustV0 = new LongAdder();
    private final boolean enabled;

    public Demangler(boolean enabled) {
        this.enabled = enabled;
    }

    private static CxxAbi loadAbi() {
        try {
            return Native.load("libstdc++.so.6", CxxAbi.class);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            LOG.warn("libstdc++.so.6 not loadable ({}): C++ and Rust names stay mangled", e.getMessage());
            return null;
        }
    }

    private static Libiberty loadLibiberty() {
        for (String dir : new String[] {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                "/usr/lib"}) {
            java.io.File[] libs = new java.io.File(dir).listFiles(
                    (d, n) -> n.startsWith("libbfd-") && n.endsWith(".so"));
            if (libs == null) {
                continue;
            }
            for (java.io.File lib : libs) {
                try {
                    return Native.load(lib.getAbsolutePath(), Libiberty.class);
                } catch (UnsatisfiedLinkError | RuntimeException e) {
                    LOG.debug("{} not usable for Rust v0 demangling: {}", lib, e.getMessage());
                }
            }
        }
        LOG.info("no libbfd-*.so (Debian package libbinutils): Rust v0 symbols (_R...) stay mangled");
        return null;
    }

    /** True when a Rust v0 demangler (libiberty through libbfd) is available. */
    public static boolean rustV0Available() {
        return LIBIBERTY != null;
    }

    /** True when the C++ runtime's demangler is available. */
    public static boolean available() {
        return ABI != null;
    }

    /** Rust v0 symbols kept mangled (no libiberty, or it rejected them). */
    public long rustV0Kept() {
        return rustV0.sum();
    }

    @Override
    public String apply(String name) {
        if (!enabled || name == null || name.length() < 3) {
            return name;
        }
        if (name.startsWith("_R") && name.length() > 2 && Character.isUpperCase(name.charAt(2))) {
            String v0 = rustV0(name);
            if (v0 == null) {
                rustV0.increment();
                return name;
            }
            return v0;
        }
        if (!name.startsWith("_Z")) {
            return name;
        }
        // Versioned or suffixed names (foo@@GLIBCXX_3.4, foo.cold, foo.isra.0): demangle the base.
        String base = name;
        String suffix = "";
        int at = name.indexOf('@');
        if (at > 0) {
            base = name.substring(0, at);
            suffix = name.substring(at);
        }
        String demangled = cxa(base);
        if (demangled == null) {
            return name;
        }
        if (isRustLegacy(base)) {
            demangled = rustLegacy(demangled);
        }
        return demangled + suffix;
    }

    private static boolean isRustLegacy(String mangled) {
        // _ZN ... 17h<16 hex>E: the last path element is the hash.
        int n = mangled.length();
        if (!mangled.startsWith("_ZN") || n < 3 + 20 || mangled.charAt(n - 1) != 'E') {
            return false;
        }
        int h = n - 1 - 17;
        return mangled.startsWith("17h", h - 2) && mangled.substring(h + 1, n - 1).chars()
                .allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }

    private static String rustV0(String mangled) {
        if (LIBIBERTY == null) {
            return null;
        }
        Pointer p = LIBIBERTY.cplus_demangle(mangled, DMGL_RUST_OPTIONS);
        if (p == null) {
            return null;
        }
        try {
            return p.getString(0, "UTF-8");
        } finally {
            Native.free(Pointer.nativeValue(p));
        }
    }

    private static String cxa(String mangled) {
        if (ABI == null) {
            return null;
        }
        IntByReference status = new IntByReference(-1);
        Pointer p = ABI.__cxa_demangle(mangled, null, null, status);
        if (p == null) {
            return null;
        }
        try {
            return status.getValue() == 0 ? p.getString(0, "UTF-8") : null;
        } finally {
            Native.free(Pointer.nativeValue(p)); // libc free(), as the runtime allocated it with malloc
        }
    }

    /** Drops the hash and decodes Rust's legacy escapes in an already Itanium-demangled path. */
    static String rustLegacy(String path) {
        String s = RUST_HASH.matcher(path).replaceFirst("");
        if (s.indexOf('$') < 0 && !s.contains("..")) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            boolean elementStart = i == 0 || (i >= 2 && s.charAt(i - 1) == ':' && s.charAt(i - 2) == ':');
            if (c == '_' && elementStart && i + 1 < s.length() && s.charAt(i + 1) == '$') {
                i++; // rustc prefixes path elements that start with an escape with '_'
                continue;
            }
            if (c == '$') {
                int end = s.indexOf('$', i + 1);
                String decoded = end < 0 ? null : escape(s.substring(i + 1, end));
                if (decoded != null) {
                    out.append(decoded);
                    i = end + 1;
                    continue;
                }
            } else if (c == '.' && i + 1 < s.length() && s.charAt(i + 1) == '.') {
                out.append("::");
                i += 2;
                continue;
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    private static String escape(String code) {
        switch (code) {
            case "SP": return "@";
            case "BP": return "*";
            case "RF": return "&";
            case "LT": return "<";
            case "GT": return ">";
            case "LP": return "(";
            case "RP": return ")";
            case "C": return ",";
            default:
                if (code.length() > 1 && code.charAt(0) == 'u') {
                    try {
                        return new String(Character.toChars(Integer.parseInt(code.substring(1), 16)));
                    } catch (IllegalArgumentException e) {
                        return null;
                    }
                }
                return null;
        }
    }
}
