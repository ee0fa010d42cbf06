package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.engine.Series;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

/**
 * Label matchers in Prometheus syntax: {@code {pod="x",thread=~"worker.*",host!="a",zone!~"eu-.*"}}
 * (braces optional). Regexes are RE2 regexes (RE2/J: matching time linear in the value, no
 * catastrophic backtracking, no recursion on long values) matched against the whole value, as
 * Prometheus anchors them; a selector is at most {@value #MAX_TEXT} characters. A label a series does not have has the value "". The label {@code thread} is special:
 * it matches each entry's thread name (per entry, not per series).
 */
public final class LabelSelector {
    /** The per-entry label. */
    public static final String THREAD = "thread";
    /** Longest selector text accepted (a 400 beyond). */
    public static final int MAX_TEXT = 4096;
    private static final LabelSelector EMPTY = new LabelSelector(List.of(), "");

    /** Operators: equal, not equal, regex match, regex non-match. */
    public enum Op { EQ, NE, RE, NRE }

    /** One matcher. */
    public record Matcher(String name, Op op, String value, Pattern pattern) {
        /** Whether the label's value (null: the label is absent, i.e. "") passes. */
        public boolean test(String actual) {
            String v = actual == null ? "" : actual;
            return switch (op) {
                case EQ -> v.equals(value);
                case NE -> !v.equals(value);
                case RE -> pattern.matcher(v).matches();
                case NRE -> !pattern.matcher(v).matches();
            };
        }
    }

    private final List<Matcher> matchers;
    private final String text;

    private LabelSelector(List<Matcher> matchers, String text) {
        this.matchers = List.copyOf(matchers);
        this.text = text;
    }

    public static LabelSelector all() {
        return EMPTY;
    }

    public List<Matcher> matchers() {
        return matchers;
    }

    /** The text it was parsed from (canonical enough to forward to other instances). */
    public String text() {
        return text;
    }

    /** True when every non-thread matcher accepts the series' labels. */
    public boolean matchesSeries(Series s) {
        return matchesLabels(s.labels());
    }

    /** True when every non-thread matcher accepts the labels. */
    public boolean matchesLabels(Map<String, String> labels) {
        for (Matcher m : matchers) {
            if (!m.name().equals(THREAD) && !m.test(labels.get(m.name()))) {
                return false;
            }
        }
        return true;
    }

    /** True when every matcher of label name accepts value (true when none names it). */
    public boolean accepts(String name, String value) {
        for (Matcher m : matchers) {
            if (m.name().equals(name) && !m.test(value)) {
                return false;
            }
        }
        return true;
    }

    /** This selector without the matchers of label name (e.g. a label that is not a series label). */
    public LabelSelector without(String name) {
        return of(matchers.stream().filter(m -> !m.name().equals(name)).toList());
    }

    /** This selector and {@code name="value"}. */
    public LabelSelector withEquality(String name, String value) {
        List<Matcher> out = new ArrayList<>(matchers);
        out.add(new Matcher(name, Op.EQ, value, null));
        return of(out);
    }

    /** A selector of these matchers, its text written so that {@link #parse} reads the same matchers back. */
    private static LabelSelector of(List<Matcher> matchers) {
        if (matchers.isEmpty()) {
            return EMPTY;
        }
        StringBuilder sb = new StringBuilder("{");
        for (Matcher m : matchers) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append(m.name()).append(switch (m.op()) {
                case EQ -> "=";
                case NE -> "!=";
                case RE -> "=~";
                case NRE -> "!~";
            }).append('"');
            for (char c : m.value().toCharArray()) {
                switch (c) {
                    case '\\' -> sb.append("\\\\");
                    case '"' -> sb.append("\\\"");
                    case '\n' -> sb.append("\\n");
                    case '\t' -> sb.append("\\t");
                    default -> sb.append(c);
                }
            }
            sb.append('"');
        }
        return new LabelSelector(matchers, sb.append('}').toString());
    }

    /** The per-entry thread filter, or null when no matcher names {@code thread}. */
    public Predicate<String> threadFilter() {
        List<Matcher> t = matchers.stream().filter(m -> m.name().equals(THREAD)).toList();
        if (t.isEmpty()) {
            return null;
        }
        return thread -> t.stream().allMatch(m -> m.test(thread));
    }

    /** Labels fixed by = matchers (for the profile's label set). */
    public Map<String, String> equalities() {
        Map<String, String> out = new TreeMap<>();
        for (Matcher m : matchers) {
            if (m.op() == Op.EQ) {
                out.put(m.name(), m.value());
            }
        }
        return out;
    }

    /** Parses text (the value of parameter); null or blank selects everything. */
    public static LabelSelector parse(String parameter, String text) {
        if (text == null || text.isBlank()) {
            return EMPTY;
        }
        if (text.length() > MAX_TEXT) {
            throw ApiException.badParameter(parameter, "is " + text.length() + " characters long; at most " + MAX_TEXT);
        }
        String s = text.trim();
        if (s.startsWith("{")) {
            if (!s.endsWith("}")) {
                throw ApiException.badParameter(parameter, "'" + text + "' opens '{' but does not close it");
            }
            s = s.substring(1, s.length() - 1);
        }
        List<Matcher> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (true) {
            i = skipSpaces(s, i);
            if (i >= n) {
                break;
            }
            int nameStart = i;
            while (i < n && (Character.isLetterOrDigit(s.charAt(i)) || "_.-/".indexOf(s.charAt(i)) >= 0)) {
                i++;
            }
            String name = s.substring(nameStart, i);
            if (name.isEmpty() || Character.isDigit(name.charAt(0))) {
                throw ApiException.badParameter(parameter, "expected a label name at position " + nameStart
                        + " of '" + text + "'");
            }
            i = skipSpaces(s, i);
            Op op;
            if (s.startsWith("=~", i)) {
                op = Op.RE;
                i += 2;
            } else if (s.startsWith("!~", i)) {
                op = Op.NRE;
                i += 2;
            } else if (s.startsWith("!=", i)) {
                op = Op.NE;
                i += 2;
            } else if (s.startsWith("=", i)) {
                op = Op.EQ;
                i += 1;
            } else {
                throw ApiException.badParameter(parameter, "expected =, !=, =~ or !~ after label '" + name
                        + "' in '" + text + "'");
            }
            i = skipSpaces(s, i);
            if (i >= n || s.charAt(i) != '"') {
                throw ApiException.badParameter(parameter, "the value of label '" + name
                        + "' must be in double quotes in '" + text + "'");
            }
            StringBuilder value = new StringBuilder();
            i++;
            boolean closed = false;
            while (i < n) {
                char c = s.charAt(i++);
                if (c == '\\' && i < n) {
                    char e = s.charAt(i++);
                    value.append(switch (e) {
                        case 'n' -> '\n';
                        case 't' -> '\t';
                        default -> e;
                    });
                } else if (c == '"') {
                    closed = true;
                    break;
                } else {
                    value.append(c);
                }
            }
            if (!closed) {
                throw ApiException.badParameter(parameter, "unterminated quoted value of label '" + name + "'");
            }
            Pattern pattern = null;
            if (op == Op.RE || op == Op.NRE) {
                try {
                    pattern = Pattern.compile(value.toString());
                } catch (PatternSyntaxException e) {
                    throw ApiException.badParameter(parameter, "bad regex for label '" + name + "': "
                            + e.getDescription());
                }
            }
            out.add(new Matcher(name, op, value.toString(), pattern));
            i = skipSpaces(s, i);
            if (i < n) {
                if (s.charAt(i) != ',') {
                    throw ApiException.badParameter(parameter, "expected ',' between matchers at position " + i
                            + " of '" + text + "'");
                }
                i++;
            }
        }
        return new LabelSelector(out, text.trim());
    }

    private static int skipSpaces(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }
}
