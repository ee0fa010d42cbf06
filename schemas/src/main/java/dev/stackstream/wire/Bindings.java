package dev.stackstream.wire;

import dev.stackstream.profile.StackId;

/**
 * What a reader remembers of one collector run to read its compact windows: the stack id and the
 * thread name each small index is bound to (v2 {@code newStacks}/{@code newThreads}), and the latest
 * service, labels and profile type a window carried (v3, for windows with {@code contextOmitted}).
 *
 * <p>Only {@link BindingResolver} reads and writes bindings, so the rules (a batch's bindings apply
 * before its entries, a later binding of an index replaces the earlier one, an unbound stack index
 * counts as {@link WireModel#UNBOUND_STACK}) exist once. Implementations only keep what they are
 * given: {@link InMemoryBindings} for a reader that sees one run in one process, and the
 * aggregator's store-backed bindings, which live in a changelogged Kafka Streams store.
 */
public interface Bindings {

    /** The stack id bound to {@code index}, or null when unbound. */
    StackId stack(int index);

    /** The thread name bound to {@code index} (0 or more), or null when unbound. */
    String thread(int index);

    /** Binds {@code index} to {@code stack}, replacing an earlier binding of the index. */
    void bindStack(int index, StackId stack);

    /** Binds {@code index} to the thread {@code name}, replacing an earlier binding of the index. */
    void bindThread(int index, String name);

    /** The latest context a window of the run carried, or null when none did (as far as this reader saw). */
    WindowContext context();

    /** Remembers the context of a window that carried it. */
    void context(WindowContext context);
}
