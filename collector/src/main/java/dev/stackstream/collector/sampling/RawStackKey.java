package dev.stackstream.collector.sampling;

import java.util.Arrays;

/**
 * Identity of an unsymbolized stack: the same (pid, addresses, cut) symbolizes to the same frames
 * while the process's mappings stay as they are, so per-thread copies of a stack, and the same
 * stack in later windows, are symbolized once (SamplingSession drops the keys when mappings change).
 */
final class RawStackKey {
    private final int pid;
    private final int kernelDepth;
    private final long[] ips;
    /** Why the stack was cut, null when it reaches its root. */
    private final CutReason cut;
    private final int hash;

    RawStackKey(int pid, int kernelDepth, long[] ips, CutReason cut) {
        this.pid = pid;
        this.kernelDepth = kernelDepth;
        this.ips = ips;
        this.cut = cut;
        this.hash = 31 * (31 * pid + kernelDepth) + Arrays.hashCode(ips) + (cut == null ? 0 : 1 + cut.ordinal());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RawStackKey k && k.pid == pid && k.kernelDepth == kernelDepth && k.cut == cut
                && Arrays.equals(k.ips, ips);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
