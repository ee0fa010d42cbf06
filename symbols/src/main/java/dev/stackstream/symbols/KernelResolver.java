package dev.stackstream.symbols;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.symbols.kernel.KernelSymbols;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Kernel addresses to frames through /proc/kallsyms, loaded on first use and re-read (at most once
 * a minute) when an address is not covered, since modules load later. Without readable addresses
 * (no CAP_SYSLOG, or kernel.kptr_restrict=2) every kernel frame stays {@code [kernel.kallsyms]+0xADDR}
 * and the reason is noted once.
 */
final class KernelResolver {
    static final String KERNEL_MODULE = "[kernel.kallsyms]";
    /** No kernel function is this long; an address further than this past a symbol is not in it. */
    private static final long MAX_DISTANCE = 1 << 20;
    private static final long RELOAD_NANOS = 60_000_000_000L;

    private final boolean enabled;
    private final Path kallsyms;
    private final StatsRecorder stats;
    private volatile KernelSymbols symbols;
    private final Ticker ticker;
    private volatile long loadedNanos;

    KernelResolver(boolean enabled, Path kallsyms, StatsRecorder stats, Ticker ticker) {
        this.enabled = enabled;
        this.ticker = ticker;
        this.kallsyms = kallsyms;
        this.stats = stats;
    }

    Frame frame(long address) {
        KernelSymbols ks = enabled ? symbols(false) : null;
        String name = null;
        String module = KERNEL_MODULE;
        if (ks != null && ks.readable()) {
            int i = ks.indexOf(address);
            if ((i < 0 || address - ks.start(i) > MAX_DISTANCE) && ticker.nanos() - loadedNanos > RELOAD_NANOS) {
                ks = symbols(true);
                i = ks.indexOf(address);
            }
            if (i >= 0 && Long.compareUnsigned(address - ks.start(i), MAX_DISTANCE) <= 0) {
                name = ks.name(i);
                if (ks.module(i) != null) {
                    module = ks.module(i);
                }
            }
        }
        stats.lookup(FrameKind.KERNEL, ModuleKind.KERNEL, name != null);
        return new Frame(name, module, null, address, FrameKind.KERNEL, null, 0);
    }

    private KernelSymbols symbols(boolean reload) {
        KernelSymbols ks = symbols;
        if (ks != null && !reload) {
            return ks;
        }
        synchronized (this) {
            if (symbols != null && !reload) {
                return symbols;
            }
            loadedNanos = ticker.nanos();
            try {
                ks = KernelSymbols.load(kallsyms);
                if (!ks.readable()) {
                    stats.note("kallsyms-hidden", "kernel frames stay unresolved ([kernel.kallsyms]+0xADDR): "
                            + kallsyms + " shows zero addresses; grant CAP_SYSLOG (and kernel.kptr_restrict <= 1)");
                }
            } catch (IOException e) {
                stats.warn("kallsyms-unreadable", kallsyms.toString(), "cannot read " + kallsyms + ": " + e);
                ks = symbols;
            }
            if (ks != null) {
                symbols = ks;
            }
            return ks;
        }
    }
}
