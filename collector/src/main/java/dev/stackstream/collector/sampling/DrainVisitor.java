package dev.stackstream.collector.sampling;

/**
 * Receives the records of one {@code ss_drain} buffer, in buffer order. Arrays passed in are fresh
 * and owned by the receiver.
 */
public interface DrainVisitor {

    /**
     * One counted stack.
     *
     * @param tid thread id, 0 unless the session counts per thread
     * @param count samples
     * @param weight sum of periods (ns for cpu-clock)
     * @param instructions instructions summed over the samples; 0 without a hardware counter
     * @param ips addresses, leaf first; the first kernelDepth are kernel addresses
     * @param truncated the chain does not reach the root (depth limit, or unwinding stopped early)
     * @param cut why, as {@code enum ss_cut_reason} (0 when not truncated)
     */
    void stack(int pid, int tid, long count, long weight, long instructions, long[] ips, int kernelDepth,
               boolean truncated, int cut);

    /** A process or thread name ({@code comm}); exec is true when the name changed through exec. */
    void comm(int pid, int tid, String name, boolean exec);

    /** An executable mapping of pid; buildId is null when unknown. */
    void mmap(int pid, long start, long length, long fileOffset, String path, byte[] buildId);

    /** A thread (or, when tid == pid, a process) exited. */
    void exit(int pid, int tid);
}
