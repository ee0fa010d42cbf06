package dev.stackstream.wire;

import java.util.HashMap;
import java.util.Map;

import dev.stackstream.profile.StackId;

/**
 * {@link Bindings} in memory, for a reader that sees one collector run's windows in one process
 * ({@code KafkaProfileReader}, {@link WireModel#addBatch}). Unbounded: it holds what the run
 * bound, which the collector bounds (50,000 stacks, 65,536 threads). Not thread-safe.
 */
public final class InMemoryBindings implements Bindings {
    private final Map<Integer, StackId> stacks = new HashMap<>();
    private final Map<Integer, String> threads = new HashMap<>();
    private WindowContext context;

    @Override
    public StackId stack(int index) {
        return stacks.get(index);
    }

    @Override
    public String thread(int index) {
        return threads.get(index);
    }

    @Override
    public void bindStack(int index, StackId stack) {
        stacks.put(index, stack);
    }

    @Override
    public void bindThread(int index, String name) {
        threads.put(index, name);
    }

    @Override
    public WindowContext context() {
        return context;
    }

    @Override
    public void context(WindowContext context) {
        this.context = context;
    }

    /** Bound stack indexes. */
    public int stackCount() {
        return stacks.size();
    }
}
