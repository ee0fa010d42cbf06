package dev.stackstream.collector.sampling;

import java.util.ArrayList;
import java.util.List;

/**
 * The records of one drain: stacks and exits grouped by kind, process metadata (names and
 * mappings) in buffer order, because an exec in the middle of a drain makes the mappings before
 * it obsolete. Stacks are symbolized only after the metadata has been applied.
 */
final class WindowRecords implements DrainVisitor {

    /** One STACK record; cut is null when the stack reaches its root. */
    record RawStack(int pid, int tid, long count, long weight, long instructions, long[] ips, int kernelDepth,
                    CutReason cut) {
        boolean truncated() {
            return cut != null;
        }
    }

    /** A COMM or MMAP record. */
    sealed interface Meta permits Comm, Mapping {
        int pid();
    }

    /** One COMM record. */
    record Comm(int pid, int tid, String name, boolean exec) implements Meta { }

    /** One MMAP record. */
    record Mapping(int pid, long start, long length, long fileOffset, String path, byte[] buildId) implements Meta { }

    /** One EXIT record. */
    record Exit(int pid, int tid) { }

    final List<RawStack> stacks = new ArrayList<>();
    final List<Comm> comms = new ArrayList<>();
    final List<Mapping> mappings = new ArrayList<>();
    /** comms and mappings interleaved as they came. */
    final List<Meta> meta = new ArrayList<>();
    final List<Exit> exits = new ArrayList<>();

    @Override
    public void stack(int pid, int tid, long count, long weight, long instructions, long[] ips, int kernelDepth,
                      boolean truncated, int cut) {
        stacks.add(new RawStack(pid, tid, count, weight, instructions, ips, kernelDepth,
                truncated ? CutReason.ofTruncated(cut) : null));
    }

    @Override
    public void comm(int pid, int tid, String name, boolean exec) {
        Comm c = new Comm(pid, tid, name, exec);
        comms.add(c);
        meta.add(c);
    }

    @Override
    public void mmap(int pid, long start, long length, long fileOffset, String path, byte[] buildId) {
        Mapping m = new Mapping(pid, start, length, fileOffset, path, buildId);
        mappings.add(m);
        meta.add(m);
    }

    @Override
    public void exit(int pid, int tid) {
        exits.add(new Exit(pid, tid));
    }
}
