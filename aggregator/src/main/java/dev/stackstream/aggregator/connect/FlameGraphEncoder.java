package dev.stackstream.aggregator.connect;

import dev.stackstream.aggregator.connect.proto.FlameGraph;
import dev.stackstream.aggregator.connect.proto.Level;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
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

    private FlameGraphEncoder() {
    }

    /** The flame graph of the profiles merged (values = count x period), at most maxNodes nodes kept. */
    public static FlameGraph encode(List<Profile> profiles, int maxNodes) {
        if (maxNodes < 1) {
            throw new IllegalArgumentException("maxNodes must be >= 1, got " + maxNodes);
        }
        CallTree tree = new CallTree();
        for (Profile p : profiles) {
            long period = p.type().period();
            for (Sample s : p.samples()) {
                tree.add(s.stack().frames(), times(s.count(), period));
            }
        }
        tree.sortChildren();
        return tree.write(tree.size - 1 > maxNodes ? tree.fold(maxNodes) : null);
    }

    /**
     * The merged call tree in flat arrays (node 0 is the root; a node is found by (parent, name) in
     * an open-addressing table), so merging thousands of stacks allocates no object per node, and
     * children are compared by a precomputed name rank instead of by string.
     */
    private static final class CallTree {
        private static final int TOTAL = 0;
        private static final int OTHER_NAME = 1;

        private final Map<String, Integer> functionNames = new HashMap<>();
        private final Map<Frame, Integer> frameNames = new IdentityHashMap<>();
        private final Map<String, Integer> nameIds = new HashMap<>();
        private final List<String> names = new ArrayList<>();
        int size;
        private int[] nameOf = new int[1024];
        private int[] parentOf = new int[1024];
        private long[] total = new long[1024];
        private long[] self = new long[1024];
        private long[] folded;
        /** (parent << 32 | name) of the node in the slot; slotNode 0 = empty (the root is nobody's child). */
        private long[] slotKey = new long[2048];
        private int[] slotNode = new int[2048];
        /** Children in name order: those of n are childList[childStart[n]] .. childList[childStart[n + 1] - 1]. */
        private int[] childStart;
        private int[] childList;

        CallTree() {
            name("total");
            name(OTHER);
            size = 1;
        }

        void add(List<Frame> frames, long v) {
            total[0] = plus(total[0], v);
            int n = 0;
            for (Frame f : frames) {
                n = child(n, nameOf(f));
                total[n] = plus(total[n], v);
            }
            self[n] = plus(self[n], v);
        }

        private int nameOf(Frame f) {
            // A resolved frame's display name depends on its function alone: keyed by that string
            // (its hash is cached), the name is made once per function, not once per frame object.
            String function = f.function();
            if (function != null) {
                Integer id = functionNames.get(function);
                if (id == null) {
                    id = name(f.displayName());
                    functionNames.put(function, id);
                }
                return id;
            }
            Integer id = frameNames.get(f);
            if (id == null) {
                id = name(f.displayName());
                frameNames.put(f, id);
            }
            return id;
        }

        private int name(String s) {
            Integer id = nameIds.get(s);
            if (id == null) {
                id = names.size();
                names.add(s);
                nameIds.put(s, id);
            }
            return id;
        }

        private int child(int parent, int name) {
            long key = ((long) parent << 32) | name;
            int mask = slotKey.length - 1;
            int i = slot(key, mask);
            while (slotNode[i] != 0) {
                if (slotKey[i] == key) {
                    return slotNode[i];
                }
                i = (i + 1) & mask;
            }
            int n = size++;
            if (n == total.length) {
                int cap = n * 2;
                nameOf = Arrays.copyOf(nameOf, cap);
                parentOf = Arrays.copyOf(parentOf, cap);
                total = Arrays.copyOf(total, cap);
                self = Arrays.copyOf(self, cap);
            }
            nameOf[n] = name;
            parentOf[n] = parent;
            slotKey[i] = key;
            slotNode[i] = n;
            if (size * 2 > slotKey.length) {
                rehash();
            }
            return n;
        }

        private static int slot(long key, int mask) {
            long h = key * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32)) & mask;
        }

        private void rehash() {
            long[] keys = slotKey;
            int[] nodes = slotNode;
            slotKey = new long[keys.length * 2];
            slotNode = new int[keys.length * 2];
            int mask = slotKey.length - 1;
            for (int j = 0; j < keys.length; j++) {
                if (nodes[j] != 0) {
                    int i = slot(keys[j], mask);
                    while (slotNode[i] != 0) {
                        i = (i + 1) & mask;
                    }
                    slotKey[i] = keys[j];
                    slotNode[i] = nodes[j];
                }
            }
        }

        /** Builds the children lists, each in name order (siblings never share a name). */
        void sortChildren() {
            Integer[] byName = new Integer[names.size()];
            for (int i = 0; i < byName.length; i++) {
                byName[i] = i;
            }
            Arrays.sort(byName, Comparator.comparing(names::get));
            int[] rank = new int[byName.length];
            for (int r = 0; r < byName.length; r++) {
                rank[byName[r]] = r;
            }
            childStart = new int[size + 1];
            for (int n = 1; n < size; n++) {
                childStart[parentOf[n] + 1]++;
            }
            for (int n = 0; n < size; n++) {
                childStart[n + 1] += childStart[n];
            }
            int[] next = Arrays.copyOf(childStart, size);
            long[] packed = new long[size - 1];
            for (int n = 1; n < size; n++) {
                packed[next[parentOf[n]]++] = ((long) rank[nameOf[n]] << 32) | n;
            }
            childList = new int[packed.length];
            for (int n = 0; n < size; n++) {
                Arrays.sort(packed, childStart[n], childStart[n + 1]);
            }
            for (int i = 0; i < packed.length; i++) {
                childList[i] = (int) packed[i];
            }
        }

        /**
         * Keeps the maxNodes nodes with the largest totals (ties: the first breadth first) and sums
         * the others into their kept parent's {@code folded}; returns which are dropped.
         */
        boolean[] fold(int maxNodes) {
            long[] totals = Arrays.copyOfRange(total, 1, size);
            Arrays.sort(totals);
            long threshold = totals[totals.length - maxNodes];
            int above = 0;
            for (long t : totals) {
                if (t > threshold) {
                    above++;
                }
            }
            int tiesLeft = maxNodes - above;
            boolean[] dropped = new boolean[size];
            folded = new long[size];
            // Breadth-first: a node is reached after its parent, so "parent kept" is already known.
            // Every node above the threshold has a parent above it too (a parent's total is at least
            // its child's), so only ties can be refused for a dropped parent.
            int[] queue = new int[size];
            int head = 0;
            int tail = 1;
            while (head < tail) {
                int n = queue[head++];
                for (int i = childStart[n]; i < childStart[n + 1]; i++) {
                    int c = childList[i];
                    if (total[c] > threshold || (total[c] == threshold && tiesLeft > 0)) {
                        if (total[c] == threshold) {
                            tiesLeft--;
                        }
                        queue[tail++] = c;
                    } else {
                        dropped[c] = true;
                        folded[n] = plus(folded[n], total[c]);
                    }
                }
            }
            return dropped;
        }

        /** The levels, depth first (children in name order, each node's "other" after them). */
        FlameGraph write(boolean[] dropped) {
            int[] outIndex = new int[names.size()];
            Arrays.fill(outIndex, -1);
            List<String> outNames = new ArrayList<>();
            outNames.add("total");
            outIndex[TOTAL] = 0;
            List<long[]> levels = new ArrayList<>();
            int[] levelSizes = new int[0];
            long[] levelEnds = new long[0];
            long maxSelf = 0;

            // A stack entry is a node, or -(parent + 1) for the "other" leaf of a folding parent.
            int[] stackNode = new int[2 * size + 1];
            int[] stackDepth = new int[stackNode.length];
            long[] stackX = new long[stackNode.length];
            int top = 1;
            while (top > 0) {
                top--;
                int node = stackNode[top];
                int depth = stackDepth[top];
                long x = stackX[top];
                int name;
                long nodeTotal;
                long nodeSelf;
                if (node >= 0) {
                    name = nameOf[node];
                    nodeTotal = total[node];
                    nodeSelf = self[node];
                } else {
                    name = OTHER_NAME;
                    nodeTotal = folded[-node - 1];
                    nodeSelf = nodeTotal;
                }
                if (depth == levels.size()) {
                    levels.add(new long[64]);
                    levelSizes = Arrays.copyOf(levelSizes, depth + 1);
                    levelEnds = Arrays.copyOf(levelEnds, depth + 1);
                }
                int idx = outIndex[name];
                if (idx < 0) {
                    idx = outNames.size();
                    outNames.add(names.get(name));
                    outIndex[name] = idx;
                }
                long[] level = levels.get(depth);
                int at = levelSizes[depth];
                if (at + 4 > level.length) {
                    level = Arrays.copyOf(level, level.length * 2);
                    levels.set(depth, level);
                }
                level[at] = x - levelEnds[depth];
                level[at + 1] = nodeTotal;
                level[at + 2] = nodeSelf;
                level[at + 3] = idx;
                levelSizes[depth] = at + 4;
                levelEnds[depth] = x + nodeTotal;
                maxSelf = Math.max(maxSelf, nodeSelf);
                if (node < 0) {
                    continue;
                }
                // Children start at x + self and follow each other; pushed last first, so the end
                // of the kept ones (where "other" starts) is found first and each start walks back.
                long end = x + nodeSelf;
                for (int i = childStart[node]; i < childStart[node + 1]; i++) {
                    if (dropped == null || !dropped[childList[i]]) {
                        end += total[childList[i]];
                    }
                }
                if (dropped != null && folded[node] > 0) {
                    stackNode[top] = -node - 1;
                    stackDepth[top] = depth + 1;
                    stackX[top++] = end;
                }
                for (int i = childStart[node + 1] - 1; i >= childStart[node]; i--) {
                    int c = childList[i];
                    if (dropped == null || !dropped[c]) {
                        end -= total[c];
                        stackNode[top] = c;
                        stackDepth[top] = depth + 1;
                        stackX[top++] = end;
                    }
                }
            }
            FlameGraph.Builder fg = FlameGraph.newBuilder().addAllNames(outNames).setTotal(total[0])
                    .setMaxSelf(maxSelf);
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
