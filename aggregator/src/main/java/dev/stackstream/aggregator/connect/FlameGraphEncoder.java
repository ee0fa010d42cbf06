package dev.stackstream.aggregator.connect;

import dev.stackstream.aggregator.connect.proto.FlameGraph;
import dev.stackstream.aggregator.connect.proto.Level;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Profiles merged into one call tree and written as the Pyroscope API's flame graph levels, the form
 * Grafana's flame graph panel reads:
 *
 * <ul>
 *   <li>{@code names[0] = "total"}; level 0 is {@code [0, total, self, 0]} (the root);</li>
 *   <li>level d lists the nodes at depth d as quadruples {@code [x_delta, total, self, name_index]}
 *       in x order, {@code x_delta = x - (previous bar's x + previous bar's total)} (x for the first);</li>
 *   <li>children start at {@code parent.x + parent.self} and follow each other, sorted by name,
 *       so each lies inside its parent.</li>
 * </ul>
 *
 * Values are in the type's unit: a sample counts its profile's period (nanoseconds for CPU), summed
 * with saturation. When the tree has more than maxNodes nodes below the root, the nodes with the
 * largest totals are kept (ties broken breadth first, so a kept node's parent is always kept) and,
 * under each kept node, the children not kept are summed into one leaf named {@value #OTHER} (as
 * Pyroscope does), so every total is preserved.
 */
public final class FlameGraphEncoder {
    /** Pyroscope's default node budget. */
    public static final int DEFAULT_MAX_NODES = 8192;
    /** Name of the node that stands for folded children. */
    public static final String OTHER = "other";

    private static final Comparator<Node> BY_NAME = Comparator.comparing(n -> n.name);
    private static final Node[] NO_NODES = new Node[0];

    private static final class Node {
        final String name;
        long total;
        long self;
        Map<String, Node> children;
        boolean kept = true;
        long folded;    // summed totals of children not kept

        Node(String name) {
            this.name = name;
        }

        private Node[] sorted;

        /** Children by name (computed once, after the tree is built). */
        Node[] sortedChildren() {
            if (sorted == null) {
                sorted = children == null ? NO_NODES : children.values().toArray(NO_NODES);
                Arrays.sort(sorted, BY_NAME);
            }
            return sorted;
        }

        Node child(String childName) {
            if (children == null) {
                children = new HashMap<>(4);
            }
            return children.computeIfAbsent(childName, Node::new);
        }
    }

    /** A node to write at depth, starting at x. */
    private record Visit(Node node, int depth, long x) { }

    private FlameGraphEncoder() {
    }

    /** The flame graph of the profiles merged (values = count x period), at most maxNodes nodes kept. */
    public static FlameGraph encode(List<Profile> profiles, int maxNodes) {
        if (maxNodes < 1) {
            throw new IllegalArgumentException("maxNodes must be >= 1, got " + maxNodes);
        }
        Node root = new Node("total");
        Map<Frame, String> names = new IdentityHashMap<>();
        for (Profile p : profiles) {
            long period = p.type().period();
            for (Sample s : p.samples()) {
                long v = times(s.count(), period);
                root.total = plus(root.total, v);
                Node n = root;
                for (Frame f : s.stack().frames()) {
                    n = n.child(names.computeIfAbsent(f, Frame::displayName));
                    n.total = plus(n.total, v);
                }
                n.self = plus(n.self, v);
            }
        }
        fold(root, maxNodes);
        return write(root);
    }

    /** Marks the nodes beyond the budget as not kept and sums them into their kept parent's {@code folded}. */
    private static void fold(Node root, int maxNodes) {
        List<Node> order = new ArrayList<>();
        ArrayDeque<Node> queue = new ArrayDeque<>();
        queue.add(root);
        while (!queue.isEmpty()) {
            Node n = queue.poll();
            for (Node c : n.sortedChildren()) {
                order.add(c);
                queue.add(c);
            }
        }
        if (order.size() <= maxNodes) {
            return;
        }
        long[] totals = new long[order.size()];
        for (int i = 0; i < totals.length; i++) {
            totals[i] = order.get(i).total;
        }
        Arrays.sort(totals);
        long threshold = totals[totals.length - maxNodes];
        int above = 0;
        for (long t : totals) {
            if (t > threshold) {
                above++;
            }
        }
        int tiesLeft = maxNodes - above;
        // Breadth-first: a node is reached after its parent, so "parent kept" is already known.
        // Every node above the threshold has a parent above it too (a parent's total is at least
        // its child's), so only ties can be refused for a dropped parent.
        queue.add(root);
        while (!queue.isEmpty()) {
            Node n = queue.poll();
            for (Node c : n.sortedChildren()) {
                if (c.total > threshold || (c.total == threshold && tiesLeft > 0)) {
                    if (c.total == threshold) {
                        tiesLeft--;
                    }
                    queue.add(c);
                } else {
                    c.kept = false;
                    n.folded = plus(n.folded, c.total);
                }
            }
        }
    }

    private static FlameGraph write(Node root) {
        Map<String, Integer> nameIndex = new HashMap<>();
        List<String> names = new ArrayList<>();
        names.add("total");
        nameIndex.put("total", 0);
        List<long[]> levels = new ArrayList<>();
        int[] levelSizes = new int[0];
        long[] levelEnds = new long[0];
        long maxSelf = 0;

        // Depth-first, children in name order (pushed reversed), "other" after them.
        ArrayDeque<Visit> stack = new ArrayDeque<>();
        stack.push(new Visit(root, 0, 0L));
        while (!stack.isEmpty()) {
            Visit top = stack.pop();
            Node n = top.node;
            int depth = top.depth;
            long x = top.x;
            if (depth == levels.size()) {
                levels.add(new long[64]);
                levelSizes = Arrays.copyOf(levelSizes, depth + 1);
                levelEnds = Arrays.copyOf(levelEnds, depth + 1);
            }
            long self = n.self;
            Integer idx = nameIndex.get(n.name);
            if (idx == null) {
                idx = names.size();
                names.add(n.name);
                nameIndex.put(n.name, idx);
            }
            long[] level = levels.get(depth);
            int size = levelSizes[depth];
            if (size + 4 > level.length) {
                level = Arrays.copyOf(level, level.length * 2);
                levels.set(depth, level);
            }
            level[size] = x - levelEnds[depth];
            level[size + 1] = n.total;
            level[size + 2] = self;
            level[size + 3] = idx;
            levelSizes[depth] = size + 4;
            levelEnds[depth] = x + n.total;
            maxSelf = Math.max(maxSelf, self);

            List<Visit> kids = new ArrayList<>();
            long cx = x + self;
            for (Node c : n.sortedChildren()) {
                if (c.kept) {
                    kids.add(new Visit(c, depth + 1, cx));
                    cx += c.total;
                }
            }
            if (n.folded > 0) {
                Node other = new Node(OTHER);
                other.total = n.folded;
                other.self = n.folded;
                kids.add(new Visit(other, depth + 1, cx));
            }
            for (int i = kids.size() - 1; i >= 0; i--) {
                stack.push(kids.get(i));
            }
        }
        FlameGraph.Builder fg = FlameGraph.newBuilder().addAllNames(names).setTotal(root.total).setMaxSelf(maxSelf);
        for (int d = 0; d < levels.size(); d++) {
            Level.Builder l = Level.newBuilder();
            long[] values = levels.get(d);
            for (int i = 0; i < levelSizes[d]; i++) {
                l.addValues(values[i]);
            }
            fg.addLevels(l);
        }
        return fg.build();
    }

    private static long plus(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    private static long times(long count, long period) {
        long hi = Math.multiplyHigh(count, period);
        long lo = count * period;
        return hi != 0 || lo < 0 ? Long.MAX_VALUE : lo;
    }
}
