package org.autoglm.models.grammar;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * String constraints of JSON Schema ({@code pattern}, {@code format}, {@code minLength}/{@code maxLength}) as
 * grammars over the JSON text of the string's content. A pattern speaks of the decoded characters, so each
 * character class is re-written as its JSON spellings: the character itself where it may stand raw, its escapes
 * (backslash escapes, and the six-character form for control characters) where it must or may be escaped.
 */
final class JsonStrings {

    /** Longest maxLength/minLength unrolled into states; more is refused rather than approximated. */
    static final int MAX_COUNTED_LENGTH = 2048;

    private static final Map<String, String> FORMATS = Map.of(
            "date", Formats.DATE,
            "time", Formats.TIME,
            "date-time", Formats.DATE + "T" + Formats.TIME,
            "uuid", "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            "ipv4", Formats.OCTET + "(\\." + Formats.OCTET + "){3}",
            "email", "[A-Za-z0-9_+-]+(\\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9]+(-[A-Za-z0-9]+)*"
                    + "(\\.[A-Za-z0-9]+(-[A-Za-z0-9]+)*)*\\.(com|org|net|edu|gov|io|dev|ai|info|biz)",
            "uri", "[a-zA-Z][a-zA-Z0-9+.-]*://[A-Za-z0-9]+(-[A-Za-z0-9]+)*(\\.[A-Za-z0-9]+(-[A-Za-z0-9]+)*)*"
                    + "(:[0-9]{1,5})?(/[A-Za-z0-9._~!$&'()*+,;=:@-]*)*(\\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?"
                    + "(#[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?");

    /** Strict subsets of the RFC 3339 forms (no leap seconds, upper-case T and Z) so we never accept a bad one. */
    private static final class Formats {
        static final String DATE = "(\\d{4}-((0[13578]|1[02])-(0[1-9]|[12]\\d|3[01])|(0[469]|11)-(0[1-9]|[12]\\d|30)"
                + "|02-(0[1-9]|1\\d|2[0-8]))|(\\d\\d(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)"
                + "-02-29)";
        static final String TIME = "([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d+)?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)";
        static final String OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
    }

    private JsonStrings() { }

    static boolean knowsFormat(String format) {
        return FORMATS.containsKey(format);
    }

    /** The whole JSON string (quotes included) under the given constraints; null ones are absent. */
    static Grammar string(Integer minLength, Integer maxLength, String pattern, String format, String pointer) {
        List<Grammar> contents = new ArrayList<>();
        if (minLength != null || maxLength != null) {
            int min = minLength == null ? 0 : minLength;
            int max = maxLength == null ? Integer.MAX_VALUE : maxLength;
            if (min > MAX_COUNTED_LENGTH || (max != Integer.MAX_VALUE && max > MAX_COUNTED_LENGTH)) {
                String keyword = min > MAX_COUNTED_LENGTH ? "minLength" : "maxLength";
                throw GrammarException.schema(keyword, pointer, "above " + MAX_COUNTED_LENGTH
                        + " cannot be enforced exactly (the count is unrolled into automaton states)");
            }
            if (max < min) {
                throw GrammarException.schema("maxLength", pointer, "is below minLength: no string fits");
            }
            contents.add(new Grammar.Repeat(JsonValueGrammar.STRING_CHAR, min, max));
        }
        if (pattern != null) {
            try {
                contents.add(encode(RegexParser.parse(pattern, false)));
            } catch (GrammarException e) {
                throw GrammarException.schema("pattern", pointer, "cannot be enforced: " + e.getMessage());
            }
        }
        if (format != null) {
            String regex = FORMATS.get(format);
            if (regex == null) {
                throw GrammarException.schema("format", pointer, "'" + format + "' is not supported (supported: "
                        + String.join(", ", new java.util.TreeSet<>(FORMATS.keySet())) + ")");
            }
            contents.add(encode(RegexParser.parse(regex, true)));
        }
        if (contents.isEmpty()) {
            return JsonValueGrammar.STRING_VALUE;
        }
        Grammar content = contents.get(0);
        for (int i = 1; i < contents.size(); i++) {
            content = new Grammar.Intersection(content, contents.get(i));
        }
        return JsonValueGrammar.lexeme(Grammar.sequence(JsonValueGrammar.QUOTE, content, JsonValueGrammar.QUOTE));
    }

    /**
     * Any JSON string in the canonical spellings of {@link #encode} (characters raw where JSON allows, the short
     * escapes, {@code \\u00XX} for control characters), never an arbitrary {@code \\uXXXX} escape. Undeclared object
     * keys are written this way: a key is told from a declared name by its spelling, so a declared name spelled with an
     * escape ({@code "\\u0061"} for {@code a}) would otherwise pass as an undeclared key and skip its declared schema.
     */
    static final Grammar CANONICAL_STRING = Grammar.sequence(JsonValueGrammar.QUOTE,
            new Grammar.Repeat(encode(CharClasses.ANY), 0, Integer.MAX_VALUE), JsonValueGrammar.QUOTE);

    /** Keys that are none of {@code declared}, in canonical spelling (see {@link #CANONICAL_STRING}). */
    static Grammar undeclaredKey(java.util.Collection<String> declared, List<Grammar> alsoExcluded) {
        List<Grammar> excluded = new ArrayList<>();
        for (String name : declared) {
            excluded.add(Grammar.sequence(JsonValueGrammar.QUOTE, encode(new Grammar.Literal(name)),
                    JsonValueGrammar.QUOTE));
        }
        excluded.addAll(alsoExcluded);
        return JsonValueGrammar.lexeme(excluded.isEmpty() ? CANONICAL_STRING
                : new Grammar.Difference(CANONICAL_STRING, new Grammar.Alternatives(excluded)));
    }

    /** Rewrites a grammar over characters into one over their JSON string spellings. */
    static Grammar encode(Grammar g) {
        if (g instanceof Grammar.CharClass cc) {
            return encodeClass(cc.ranges());
        }
        if (g instanceof Grammar.Literal lit) {
            List<Grammar> parts = new ArrayList<>();
            lit.text().codePoints().forEach(cp -> parts.add(encodeClass(new int[] {cp, cp})));
            return new Grammar.Sequence(parts);
        }
        if (g instanceof Grammar.Sequence s) {
            return new Grammar.Sequence(s.parts().stream().map(JsonStrings::encode).toList());
        }
        if (g instanceof Grammar.Alternatives a) {
            return new Grammar.Alternatives(a.alternatives().stream().map(JsonStrings::encode).toList());
        }
        if (g instanceof Grammar.Repeat r) {
            return new Grammar.Repeat(encode(r.item()), r.min(), r.max());
        }
        throw new IllegalStateException("not a character grammar: " + g);
    }

    private static Grammar encodeClass(int[] ranges) {
        List<Grammar> spellings = new ArrayList<>();
        int[] raw = CharClasses.intersect(ranges, JsonValueGrammar.RAW_CHAR.ranges());
        if (raw.length > 0) {
            spellings.add(new Grammar.CharClass(raw));
        }
        if (CharClasses.contains(ranges, '"')) {
            spellings.add(new Grammar.Literal("\\\""));
        }
        if (CharClasses.contains(ranges, '\\')) {
            spellings.add(new Grammar.Literal("\\\\"));
        }
        if (CharClasses.contains(ranges, '/')) {
            spellings.add(new Grammar.Literal("\\/"));
        }
        for (int c = 0; c < 0x20; c++) {
            if (CharClasses.contains(ranges, c)) {
                String shortForm = switch (c) {
                    case '\b' -> "\\b";
                    case '\f' -> "\\f";
                    case '\n' -> "\\n";
                    case '\r' -> "\\r";
                    case '\t' -> "\\t";
                    default -> null;
                };
                if (shortForm != null) {
                    spellings.add(new Grammar.Literal(shortForm));
                }
                int lo = c & 0xF;
                String hex = Integer.toHexString(lo);
                spellings.add(Grammar.sequence(new Grammar.Literal("\\u00" + (c >> 4)),
                        JsonValueGrammar.charsOf(hex.toLowerCase() + hex.toUpperCase())));
            }
        }
        return spellings.size() == 1 ? spellings.get(0) : new Grammar.Alternatives(spellings);
    }
}
