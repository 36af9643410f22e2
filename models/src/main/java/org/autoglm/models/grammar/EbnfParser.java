package org.autoglm.models.grammar;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GBNF (llama.cpp's grammar format, a W3C-style EBNF): {@code name ::= alternatives}, with "literals",
 * [character classes], rule names, ( groups ), {@code .}, postfix {@code * + ?} and {@code {m}}, {@code {m,}},
 * {@code {m,n}}, and # comments. The grammar starts at rule {@code root}.
 */
final class EbnfParser {

    private final String src;
    private int pos;

    private EbnfParser(String src) {
        this.src = src;
    }

    static Grammar parse(String text) {
        EbnfParser p = new EbnfParser(text);
        Map<String, Grammar> rules = new LinkedHashMap<>();
        p.skipSpace();
        while (p.pos < p.src.length()) {
            String name = p.name();
            p.skipSpace();
            if (!p.src.startsWith("::=", p.pos)) {
                throw p.error("expected '::=' after rule name '" + name + "'");
            }
            p.pos += 3;
            if (rules.containsKey(name)) {
                throw p.error("rule '" + name + "' is defined twice");
            }
            rules.put(name, p.alternatives());
            p.skipSpace();
        }
        if (!rules.containsKey("root")) {
            throw new GrammarException("the grammar has no 'root' rule", null, "");
        }
        return new Grammar.Rules("root", rules);
    }

    private Grammar alternatives() {
        List<Grammar> alternatives = new ArrayList<>();
        alternatives.add(sequence());
        while (true) {
            skipSpace();
            if (peek() != '|') {
                break;
            }
            pos++;
            alternatives.add(sequence());
        }
        return alternatives.size() == 1 ? alternatives.get(0) : new Grammar.Alternatives(alternatives);
    }

    private Grammar sequence() {
        List<Grammar> items = new ArrayList<>();
        while (true) {
            skipSpace();
            int c = peek();
            if (c < 0 || c == '|' || c == ')' || startsRule()) {
                break;
            }
            items.add(postfix(term()));
        }
        return items.size() == 1 ? items.get(0) : new Grammar.Sequence(items);
    }

    private boolean startsRule() {
        int save = pos;
        try {
            if (!isNameChar(peek())) {
                return false;
            }
            name();
            skipSpace();
            return src.startsWith("::=", pos);
        } finally {
            pos = save;
        }
    }

    private Grammar term() {
        int c = peek();
        if (c == '"') {
            pos++;
            StringBuilder sb = new StringBuilder();
            while (peek() != '"') {
                if (peek() < 0) {
                    throw error("unterminated string");
                }
                sb.appendCodePoint(character());
            }
            pos++;
            return new Grammar.Literal(sb.toString());
        }
        if (c == '[') {
            pos++;
            boolean negated = peek() == '^';
            if (negated) {
                pos++;
            }
            List<Integer> ranges = new ArrayList<>();
            while (peek() != ']') {
                if (peek() < 0) {
                    throw error("unterminated character class");
                }
                int lo = character();
                int hi = lo;
                if (peek() == '-' && pos + 1 < src.length() && src.charAt(pos + 1) != ']') {
                    pos++;
                    hi = character();
                }
                ranges.add(lo);
                ranges.add(hi);
            }
            pos++;
            int[] set = CharClasses.normalize(ranges.stream().mapToInt(Integer::intValue).toArray());
            return new Grammar.CharClass(negated ? CharClasses.complement(set) : set);
        }
        if (c == '(') {
            pos++;
            Grammar inner = alternatives();
            skipSpace();
            if (peek() != ')') {
                throw error("expected ')'");
            }
            pos++;
            return inner;
        }
        if (c == '.') {
            pos++;
            return CharClasses.ANY;
        }
        if (isNameChar(c)) {
            return new Grammar.RuleRef(name());
        }
        throw error("unexpected '" + (char) c + "'");
    }

    private Grammar postfix(Grammar g) {
        while (true) {
            int c = peek();
            if (c == '*') {
                pos++;
                g = new Grammar.Repeat(g, 0, Integer.MAX_VALUE);
            } else if (c == '+') {
                pos++;
                g = new Grammar.Repeat(g, 1, Integer.MAX_VALUE);
            } else if (c == '?') {
                pos++;
                g = new Grammar.Repeat(g, 0, 1);
            } else if (c == '{') {
                pos++;
                int min = number();
                int max = min;
                if (peek() == ',') {
                    pos++;
                    max = peek() == '}' ? Integer.MAX_VALUE : number();
                }
                if (peek() != '}' || max < min) {
                    throw error("bad repetition {m,n}");
                }
                pos++;
                g = new Grammar.Repeat(g, min, max);
            } else {
                return g;
            }
        }
    }

    private int number() {
        int start = pos;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
            pos++;
        }
        if (start == pos) {
            throw error("expected a number");
        }
        return Integer.parseInt(src.substring(start, pos));
    }

    /** One character of a literal or class, escapes decoded. */
    private int character() {
        int c = src.codePointAt(pos);
        pos += Character.charCount(c);
        if (c != '\\') {
            return c;
        }
        if (pos >= src.length()) {
            throw error("dangling backslash");
        }
        int e = src.charAt(pos++);
        return switch (e) {
            case 'n' -> '\n';
            case 't' -> '\t';
            case 'r' -> '\r';
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'U' -> hex(8);
            default -> e;
        };
    }

    private int hex(int digits) {
        if (pos + digits > src.length()) {
            throw error("incomplete hex escape");
        }
        int v = Integer.parseInt(src.substring(pos, pos + digits), 16);
        pos += digits;
        return v;
    }

    private String name() {
        int start = pos;
        while (pos < src.length() && isNameChar(src.charAt(pos))) {
            pos++;
        }
        if (start == pos) {
            throw error("expected a rule name");
        }
        return src.substring(start, pos);
    }

    private static boolean isNameChar(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }

    private void skipSpace() {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '#') {
                while (pos < src.length() && src.charAt(pos) != '\n') {
                    pos++;
                }
            } else if (Character.isWhitespace(c)) {
                pos++;
            } else {
                return;
            }
        }
    }

    private int peek() {
        return pos < src.length() ? src.charAt(pos) : -1;
    }

    private GrammarException error(String why) {
        int line = 1;
        for (int i = 0; i < pos && i < src.length(); i++) {
            if (src.charAt(i) == '\n') {
                line++;
            }
        }
        return new GrammarException("grammar line " + line + ": " + why, null, "");
    }
}
