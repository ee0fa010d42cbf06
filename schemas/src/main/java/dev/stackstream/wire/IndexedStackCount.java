package dev.stackstream.wire;

/**
 * One entry of a v2 batch's {@code packedEntries}: how often one stack (on one thread) was sampled
 * in the window, the stack and thread named by per-collector index (see {@link PackedEntries}).
 *
 * @param stackIndex index bound by {@code newStacks} of this or an earlier window of the collector, >= 0
 * @param count samples, >= 0
 * @param threadIndex index bound by {@code newThreads}, or -1 when the collector did not sample per thread
 * @param instructions instructions retired in this stack over its samples, or -1 when not measured
 */
public record IndexedStackCount(int stackIndex, long count, int threadIndex, long instructions) {

    public IndexedStackCount {
        if (stackIndex < 0) {
            throw new IllegalArgumentException("stack index must be >= 0, got " + stackIndex);
        }
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, got " + count);
        }
        if (threadIndex < -1) {
            throw new IllegalArgumentException("thread index must be >= -1, got " + threadIndex);
        }
        if (instructions < -1) {
            throw new IllegalArgumentException("instructions must be >= -1, got " + instructions);
        }
    }

    // Avro-style accessor names, like the generated wire classes beside it.
    public int getStackIndex() {
        return stackIndex;
    }

    public long getCount() {
        return count;
    }

    public int getThreadIndex() {
        return threadIndex;
    }

    public long getInstructions() {
        return instructions;
    }
}
