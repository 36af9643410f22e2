package org.autoglm.models.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * ECMAScript regular expressions (the dialect of JSON Schema's {@code pattern}) to a {@link Grammar} over
 * characters. Everything that is regular is supported; what is not (lookaround, backreferences, word boundaries,
 * anchors inside the pattern) is a {@link GrammarException} rather than an approximation.
 */
final class RegexParser {

    static final int[] DIGITS = {'0', '9'};
    static final int[] WORD = CharClasses.normalize(new int[] {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'});
    static final int[] SPACE = CharClasses.normalize(new int[] {'\t', '\r', ' ', ' ', 0xA0, 0xA0, 0x1680, 0x1680,
            0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF});
    private static final int[] LINE_TERMINATORS = {'\n', '\n', '\r', '\r', 0x2028, 0x2029};

    private final String src;
    private int pos;

    private RegexParser(String src) {
        this.src = src;
    }

    /**
     * @param whole true: the pattern must match the whole text (anchors are redundant); false: JSON Schema's
     *              search semantics, where the pattern may match anywhere unless anchored with ^ and $
     */
    static Grammar parse(String pattern, boolean whole) {
        RegexParser p = new RegexParser(pattern);
        List<Grammar> alternatives = new ArrayList<>();
        do {
            boolean startAnchor = p.eat('^');
            List<Grammar> items = p.sequence();
            boolean endAnchor = false;
            if (p.peek() == '$') {
                p.pos++;
                endAnchor = true;
            }
            if (!whole && !startAnchor) {
                items.add(0, anyText());
            }
            if (!whole && !endAnchor) {
                items.add(anyText());
            }
            alternatives.add(new Grammar.Sequence(items));
        } while (p.eat('|'));
        if (p.pos < p.src.length()) {
            throw p.error(p.peek() == ')' ? "unbalanced ')'" : "'" + (char) p.peek() + "' not supported here");
        }
        return alternatives.size() == 1 ? alternatives.get(0) : new Grammar.Alternatives(alternatives);
    }

    private static Grammar anyText() {
        return new Grammar.Repeat(CharClasses.ANY, 0, Integer.MAX_VALUE);
    }

    private Grammar alternation() {
        List<Grammar> alternatives = new ArrayList<>();
        do {
            alternatives.add(new Grammar.Sequence(sequence()));
        } while (eat('|'));
        return alternatives.size() == 1 ? alternatives.get(0) : new Grammar.Alternatives(alternatives);
    }

    private List<Grammar> sequence() {
        List<Grammar> items = new ArrayList<>();
        while (pos < src.length() && peek() != '|' && peek() != ')') {
            if (peek() == '$') {
                if (pos + 1 == src.length() || src.charAt(pos + 1) == '|') {
                    break;
                }
                throw error("'$' is only supported at the end of the pattern");
            }
            if (peek() == '^') {
                throw error("'^' is only supported at the start of the pattern");
            }
            items.add(quantified(atom()));
        }
        return items;
    }

    private Grammar quantified(Grammar atom) {
        while (pos < src.length()) {
            int c = peek();
            int min;
            int max;
            if (c == '*') {
                min = 0;
                max = Integer.MAX_VALUE;
                pos++;
            } else if (c == '+') {
                min = 1;
                max = Integer.MAX_VALUE;
                pos++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                pos++;
            } else if (c == '{' && braceQuantifierAhead()) {
                pos++;
                min = number();
                max = min;
                if (eat(',')) {
                    max = peek() == '}' ? Integer.MAX_VALUE : number();
                }
                expect('}');
                if (max < min) {
                    throw error("quantifier {" + min + "," + max + "} has max below min");
                }
            } else {
                return atom;
            }
            eat('?');   // lazy quantifiers match the same language
            atom = new Grammar.Repeat(atom, min, max);
        }
        return atom;
    }

    private boolean braceQuantifierAhead() {
        int i = pos + 1;
        int digits = 0;
        while (i < src.length() && Character.isDigit(src.charAt(i))) {
            i++;
            digits++;
        }
        if (digits == 0) {
            return false;
        }
        if (i < src.length() && src.charAt(i) == ',') {
            i++;
            while (i < src.length() && Character.isDigit(src.charAt(i))) {
                i++;
            }
        }
        return i < src.length() && src.charAt(i) == '}';
    }

    private int number() {
        int start = pos;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
            pos++;
        }
        if (start == pos) {
            throw error("expected a number");
        }
        try {
            return Integer.parseInt(src.substring(start, pos));
        } catch (NumberFormatException e) {
            throw error("repetition count too large");
        }
    }

    private Grammar atom() {
        int c = src.codePointAt(pos);
        switch (c) {
            case '(' -> {
                pos++;
                if (eat('?')) {
                    if (eat(':')) {
                        // non-capturing group
                    } else if (peek() == '<' && pos + 1 < src.length() && src.charAt(pos + 1) != '='
                            && src.charAt(pos + 1) != '!') {
                        int close = src.indexOf('>', pos);
                        if (close < 0) {
                            throw error("unterminated group name");
                        }
                        pos = close + 1;
                    } else {
                        throw error("lookaround and inline flags cannot be compiled to a grammar");
                    }
                }
                Grammar inner = alternation();
                expect(')');
                return inner;
            }
            case '[' -> {
                return new Grammar.CharClass(charClass());
            }
            case '.' -> {
                pos++;
                return new Grammar.CharClass(CharClasses.minus(CharClasses.ANY.ranges(), LINE_TERMINATORS));
            }
            case '\\' -> {
                pos++;
                int[] set = escapeSet();
                if (set != null) {
                    return new Grammar.CharClass(set);
                }
                return CharClasses.single(escapeChar());
            }
            case '*', '+', '?' -> throw error("nothing to repeat before '" + (char) c + "'");
            case '{' -> {
                if (braceQuantifierAhead()) {
                    throw error("nothing to repeat before '{'");
                }
                pos++;
                return CharClasses.single('{');
            }
            default -> {
                pos += Character.charCount(c);
                return CharClasses.single(c);
            }
        }
    }

    /** After a backslash: a class escape (\d \w \s and their negations), or null for a single character. */
    private int[] escapeSet() {
        int c = peek();
        int[] set = switch (c) {
            case 'd' -> DIGITS;
            case 'D' -> CharClasses.complement(DIGITS);
            case 'w' -> WORD;
            case 'W' -> CharClasses.complement(WORD);
            case 's' -> SPACE;
            case 'S' -> CharClasses.complement(SPACE);
            default -> null;
        };
        if (set != null) {
            pos++;
            return CharClasses.normalize(set.clone());
        }
        if (c == 'p' || c == 'P') {
            throw error("Unicode property escapes (\\p{...}) are not supported");
        }
        return null;
    }

    /** After a backslash: the single character an escape stands for. */
    private int escapeChar() {
        if (pos >= src.length()) {
            throw error("pattern ends with a backslash");
        }
        int c = src.codePointAt(pos);
        pos += Character.charCount(c);
        switch (c) {
            case 'n': return '\n';
            case 't': return '\t';
            case 'r': return '\r';
            case 'f': return '\f';
            case 'v': return 0x0B;
            case '0': return 0;
            case 'x': return hex(2);
            case 'u':
                if (eat('{')) {
                    int close = src.indexOf('}', pos);
                    if (close < 0) {
                        throw error("unterminated \\u{...}");
                    }
                    int v = Integer.parseInt(src.substring(pos, close), 16);
                    pos = close + 1;
                    return v;
                }
                return hex(4);
            case 'b': case 'B':
                throw error("word boundaries (\\b, \\B) cannot be compiled to a grammar");
            default:
                if (c >= '1' && c <= '9') {
                    throw error("backreferences cannot be compiled to a grammar");
                }
                if (Character.isLetterOrDigit(c)) {
                    throw error("unknown escape \\" + Character.toString(c));
                }
                return c;
        }
    }

    private int hex(int digits) {
        if (pos + digits > src.length()) {
            throw error("incomplete hex escape");
        }
        try {
            int v = Integer.parseInt(src.substring(pos, pos + digits), 16);
            pos += digits;
            return v;
        } catch (NumberFormatException e) {
            throw error("bad hex escape");
        }
    }

    private int[] charClass() {
        pos++;   // '['
        boolean negated = eat('^');
        List<Integer> ranges = new ArrayList<>();
        int[] extra = new int[0];
        while (pos < src.length() && peek() != ']') {
            int lo;
            if (peek() == '\\') {
                pos++;
                int[] set = escapeSet();
                if (set != null) {
                    extra = CharClasses.union(extra, set);
                    continue;
                }
                lo = peek() == 'b' ? consumeBackspace() : escapeChar();
            } else {
                lo = src.codePointAt(pos);
                pos += Character.charCount(lo);
            }
            int hi = lo;
            if (peek() == '-' && pos + 1 < src.length() && src.charAt(pos + 1) != ']') {
                pos++;
                if (peek() == '\\') {
                    pos++;
                    if (escapeSet() != null) {
                        throw error("a class escape cannot end a range");
                    }
                    hi = escapeChar();
                } else {
                    hi = src.codePointAt(pos);
                    pos += Character.charCount(hi);
                }
                if (hi < lo) {
                    throw error("range out of order in character class");
                }
            }
            ranges.add(lo);
            ranges.add(hi);
        }
        expect(']');
        int[] set = CharClasses.union(ranges.stream().mapToInt(Integer::intValue).toArray(), extra);
        return negated ? CharClasses.complement(set) : set;
    }

    private int consumeBackspace() {
        pos++;
        return 0x08;
    }

    private int peek() {
        return pos < src.length() ? src.charAt(pos) : -1;
    }

    private boolean eat(char c) {
        if (peek() == c) {
            pos++;
            return true;
        }
        return false;
    }

    private void expect(char c) {
        if (!eat(c)) {
            throw error("expected '" + c + "'");
        }
    }

    private GrammarException error(String why) {
        return new GrammarException("regex /" + src + "/ at offset " + pos + ": " + why, "pattern", "");
    }
}
