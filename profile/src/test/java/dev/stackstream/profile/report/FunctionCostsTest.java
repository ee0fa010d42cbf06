package dev.stackstream.profile.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Stack;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Self and total per function: recursion once per stack, the naming decides what is one function, sums saturate. */
class FunctionCostsTest {
    private static Stack stack(String... names) {
        return new Stack(List.of(names).stream().map(n -> Frame.named(n, FrameKind.USER)).toList(), false);
    }

    @Test
    void recursionCountsOncePerStackAndNamingMergesFunctions() {
        FunctionCosts costs = new FunctionCosts(f -> f.function().replaceFirst("#.*", ""));
        costs.add(stack("main", "walk", "walk", "walk#2"), 5);
        costs.add(stack("main", "leaf"), 3);
        costs.add(stack(), 7);
        costs.add(stack("main"), 0);
        assertEquals(8, costs.samples());
        assertEquals(Map.of("walk", 5L, "leaf", 3L), costs.self());
        assertEquals(Map.of("main", 8L, "walk", 5L, "leaf", 3L), costs.total());
    }

    @Test
    void sumsSaturate() {
        FunctionCosts costs = new FunctionCosts(Frame::function);
        costs.add(stack("main", "a"), 1L << 62);
        costs.add(stack("main", "a"), 1L << 62);
        costs.add(stack("main", "a"), 1L << 62);
        assertEquals(Long.MAX_VALUE, costs.samples());
        assertEquals(Long.MAX_VALUE, costs.self().get("a"));
        assertEquals(Long.MAX_VALUE, costs.total().get("main"));
    }
}
