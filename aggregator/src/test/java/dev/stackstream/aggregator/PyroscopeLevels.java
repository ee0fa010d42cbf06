package dev.stackstream.aggregator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A SelectMergeStacktraces answer (proto3 JSON) built in the test from our own collapsed profile
 * with Pyroscope's documented level encoding: {@code names[0] = "total"}, level 0 is
 * {@code [0, total, self, 0]}, each level a flat list of {@code [x_delta, total, self, name]}
 * ordered by x, children placed from {@code parent.x + parent.self} in name order. Values are the
 * profile type's unit (samples × period), int64 written as strings as proto3 JSON does.
 */
final class PyroscopeLevels {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PyroscopeLevels() {
    }

    private static final class Node {
        final String name;
        final Map<String, Node> children = new TreeMap<>();
        long total;
        long self;
        long x;

        Node(String name) {
            this.name = name;
        }
    }

    /** The answer for stacks (root-first frames joined by ';') with their sample counts. */
    static ObjectNode answer(Map<String, Long> collapsed, long period) {
        Node root = new Node("total");
        collapsed.forEach((stack, count) -> {
            long v = count * period;
            root.total += v;
            Node n = root;
            for (String frame : stack.split(";")) {
                n = n.children.computeIfAbsent(frame, Node::new);
                n.total += v;
            }
            n.self += v;
        });
        Map<String, Integer> names = new LinkedHashMap<>();
        names.put("total", 0);
        List<List<Node>> levels = new ArrayList<>();
        List<Node> level = List.of(root);
        long maxSelf = 0;
        while (!level.isEmpty()) {
            levels.add(level);
            List<Node> next = new ArrayList<>();
            for (Node parent : level) {
                maxSelf = Math.max(maxSelf, parent.self);
                long x = parent.x + parent.self;
                for (Node c : parent.children.values()) {
                    c.x = x;
                    x += c.total;
                    next.add(c);
                }
            }
            level = next;
        }
        ObjectNode fg = JSON.createObjectNode();
        ArrayNode levelsJson = fg.putArray("levels");
        for (List<Node> l : levels) {
            ArrayNode values = levelsJson.addObject().putArray("values");
            long end = 0;
            for (Node n : l) {
                values.add(Long.toString(n.x - end)).add(Long.toString(n.total)).add(Long.toString(n.self))
                        .add(Integer.toString(names.computeIfAbsent(n.name, k -> names.size())));
                end = n.x + n.total;
            }
        }
        ArrayNode namesJson = JSON.createArrayNode();
        names.keySet().forEach(namesJson::add);
        fg.set("names", namesJson);
        fg.put("total", Long.toString(root.total));
        fg.put("maxSelf", Long.toString(maxSelf));
        ObjectNode answer = JSON.createObjectNode();
        answer.set("flamegraph", fg);
        return answer;
    }
}
