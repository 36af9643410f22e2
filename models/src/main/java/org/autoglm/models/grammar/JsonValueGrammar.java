package org.autoglm.models.grammar;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON pieces every schema is built from, written compactly (no whitespace between tokens, as a compact
 * serializer writes them): strings with their escapes, numbers, and any value.
 */
final class JsonValueGrammar {

    static final Grammar DIGIT = CharClasses.of('0', '9');
    static final Grammar HEX = CharClasses.of('0', '9', 'a', 'f', 'A', 'F');
    /** A character written as itself inside a JSON string: not a quote, backslash or control character. */
    static final Grammar.CharClass RAW_CHAR = CharClasses.of(0x20, 0x21, 0x23, 0x5B, 0x5D, CharClasses.MAX_CODE_POINT);
    /** A \\uXXXX escape that is not half of a surrogate pair, so it always stands for one character. */
    static final Grammar UNICODE_ESCAPE = Grammar.sequence(new Grammar.Literal("u"), Grammar.anyOf(
            Grammar.sequence(CharClasses.of('0', '9', 'a', 'c', 'A', 'C', 'e', 'f', 'E', 'F'), HEX, HEX, HEX),
            Grammar.sequence(CharClasses.of('d', 'd', 'D', 'D'), CharClasses.of('0', '7'), HEX, HEX)));
    /** One character of string content, raw or escaped. */
    static final Grammar STRING_CHAR = Grammar.anyOf(RAW_CHAR, Grammar.sequence(new Grammar.Literal("\\"),
            Grammar.anyOf(charsOf("\"\\/bfnrt"), UNICODE_ESCAPE)));
    static final Grammar QUOTE = new Grammar.Literal("\"");
    static final Grammar STRING = Grammar.sequence(QUOTE, new Grammar.Repeat(STRING_CHAR, 0, Integer.MAX_VALUE), QUOTE);
    /** Any string, where a value or key stands: a lexeme (see {@link #lexeme}). */
    static final Grammar STRING_VALUE = lexeme(STRING);
    static final Grammar INTEGER = Grammar.sequence(optional(new Grammar.Literal("-")),
            Grammar.anyOf(new Grammar.Literal("0"),
                    Grammar.sequence(CharClasses.of('1', '9'), new Grammar.Repeat(DIGIT, 0, Integer.MAX_VALUE))));
    static final Grammar FRACTION = Grammar.sequence(new Grammar.Literal("."), new Grammar.Repeat(DIGIT, 1,
            Integer.MAX_VALUE));
    static final Grammar EXPONENT = Grammar.sequence(charsOf("eE"), optional(charsOf("+-")),
            new Grammar.Repeat(DIGIT, 1, Integer.MAX_VALUE));
    static final Grammar NUMBER = Grammar.sequence(INTEGER, optional(FRACTION), optional(EXPONENT));
    static final Grammar BOOLEAN = Grammar.choice(List.of("true", "false"));
    static final Grammar NULL = new Grammar.Literal("null");

    private static final Grammar ANY_VALUE = anyValueRules();

    private JsonValueGrammar() { }

    /** In a fixed order (not Map.of's, which changes per run), so rule numbers and automata are reproducible. */
    private static Grammar anyValueRules() {
        Map<String, Grammar> rules = new LinkedHashMap<>();
        rules.put("value", Grammar.anyOf(new Grammar.RuleRef("object"), new Grammar.RuleRef("array"), STRING_VALUE,
                NUMBER, BOOLEAN, NULL));
        rules.put("object", Grammar.sequence(new Grammar.Literal("{"), commaSeparated(
                Grammar.sequence(STRING_VALUE, new Grammar.Literal(":"), new Grammar.RuleRef("value"))),
                new Grammar.Literal("}")));
        rules.put("array", Grammar.sequence(new Grammar.Literal("["), commaSeparated(new Grammar.RuleRef("value")),
                new Grammar.Literal("]")));
        return new Grammar.Rules("value", Collections.unmodifiableMap(rules));
    }
    static Grammar anyValue() {
        return ANY_VALUE;
    }

    static Grammar anyObject() {
        return new Grammar.Rules("object", Map.of(
                "object", Grammar.sequence(new Grammar.Literal("{"), commaSeparated(
                        Grammar.sequence(STRING_VALUE, new Grammar.Literal(":"), ANY_VALUE)), new Grammar.Literal("}"))));
    }

    /**
     * A whole JSON string (quotes included) as a rule of its own rather than inlined into the rule that uses it.
     * Its automaton then does not depend on what follows it, so the tokens allowed inside it (nearly the whole
     * vocabulary, the widest walk of the token trie) are computed once per compiler and shared by every grammar
     * and position using the same kind of string; only the few tokens that close it and run on into the caller
     * depend on the position ({@link TokenSetCache}).
     */
    static Grammar lexeme(Grammar g) {
        return new Grammar.Rules("lexeme", Map.of("lexeme", g));
    }

    static Grammar optional(Grammar g) {
        return new Grammar.Repeat(g, 0, 1);
    }

    /** Zero or more items separated by commas. */
    static Grammar commaSeparated(Grammar item) {
        return optional(Grammar.sequence(item, new Grammar.Repeat(
                Grammar.sequence(new Grammar.Literal(","), item), 0, Integer.MAX_VALUE)));
    }

    /** Any one of the characters of {@code chars}. */
    static Grammar.CharClass charsOf(String chars) {
        int[] r = new int[2 * chars.length()];
        for (int i = 0; i < chars.length(); i++) {
            r[2 * i] = chars.charAt(i);
            r[2 * i + 1] = chars.charAt(i);
        }
        return CharClasses.of(r);
    }
}
