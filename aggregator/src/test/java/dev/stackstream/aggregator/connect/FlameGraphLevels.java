package dev.stackstream.aggregator.connect;

import dev.stackstream.aggregator.connect.proto.FlameGraph;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads flame graph levels back into a tree the way Grafana does (each bar attached to the bar of
 * the level above that contains its x) and flattens it to folded form: frame path (root first,
 * ';'-joined, without "total") to self value. Fails on any layout rule the encoding must keep.
 */
final class FlameGraphLevels {

    private record Bar(long x, long total, long self, String path) { }

    private FlameGraphLevels() {
    }

    static Map<String, Long> decode(FlameGraph fg) {
        if (!fg.getNames(0).equals("total")) {
            throw new AssertionError("names[0] is " + fg.getNames(0));
        }
        List<Long> root = fg.getLevels(0).getValuesList();
        if (root.size() != 4 || root.get(0) != 0 || root.get(1) != fg.getTotal() || root.get(3) != 0) {
            throw new AssertionError("level 0 must be [0, total, self, 0], is " + root);
        }
        Map<String, Long> folded = new TreeMap<>();
        List<Bar> above = List.of(new Bar(0, root.get(1), root.get(2), ""));
        if (root.get(2) > 0) {
            folded.put("", root.get(2));
        }
        for (int d = 1; d < fg.getLevelsCount(); d++) {
            List<Long> v = fg.getLevels(d).getValuesList();
            if (v.size() % 4 != 0) {
                throw new AssertionError("level " + d + " is not quadruples: " + v.size());
            }
            List<Bar> bars = new ArrayList<>();
            long end = 0;
            int parent = 0;
            for (int i = 0; i < v.size(); i += 4) {
                long x = end + v.get(i);
                if (v.get(i) < 0) {
                    throw new AssertionError("level " + d + ": bars overlap (x_delta " + v.get(i) + ")");
                }
                long total = v.get(i + 1);
                long self = v.get(i + 2);
                while (parent < above.size() && above.get(parent).x + above.get(parent).total <= x) {
                    parent++;
                }
                if (parent == above.size()) {
                    throw new AssertionError("level " + d + ": bar at " + x + " has no parent");
                }
                Bar p = above.get(parent);
                if (x < p.x + p.self || x + total > p.x + p.total) {
                    throw new AssertionError("level " + d + ": bar [" + x + ", " + (x + total)
                            + ") is not inside its parent's children [" + (p.x + p.self) + ", " + (p.x + p.total) + ")");
                }
                String name = fg.getNames(Math.toIntExact(v.get(i + 3)));
                Bar b = new Bar(x, total, self, p.path.isEmpty() ? name : p.path + ";" + name);
                bars.add(b);
                if (self > 0) {
                    folded.merge(b.path, self, Long::sum);
                }
                end = x + total;
            }
            above = bars;
        }
        return folded;
    }
}
