package org.autoglm.models.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code patternProperties} of one object schema, exactly: a property whose name matches one or more patterns (a
 * search, as ECMAScript's {@code RegExp.test}) must fit every matching pattern's schema, besides its own schema when
 * it is declared; an undeclared name that matches none follows {@code additionalProperties}. Undeclared keys are
 * split into disjoint key languages, one per set of patterns they match, each with the merged schema of that set.
 *
 * <p>Pattern keys are matched on their JSON spelling, so an undeclared key is written in the canonical spellings of
 * {@link JsonStrings#encode} (characters raw where JSON allows, the short escapes, {@code \\u00XX} for control
 * characters), never as an arbitrary {@code \\uXXXX} escape: otherwise a key could dodge its pattern by being spelled
 * differently. Every canonical spelling of a declared name is kept out of the undeclared keys.
 */
final class PatternProperties {

    /** Each undeclared key may match any subset of the patterns: 2^n key languages. */
    static final int MAX_PATTERNS = 4;
    private static final Grammar QUOTE = JsonValueGrammar.QUOTE;

    private final List<JsonNode> schemas = new ArrayList<>();
    private final List<String> pointers = new ArrayList<>();
    /** Per pattern: the quoted canonical spellings of the names it matches. */
    private final List<Grammar> keys = new ArrayList<>();
    private final String pointer;

    private PatternProperties(String pointer) {
        this.pointer = pointer;
    }

    /** The object schema's patterns, or null when it has none. */
    static PatternProperties of(JsonNode schema, String pointer) {
        JsonNode node = schema.get("patternProperties");
        if (node == null || (node.isObject() && node.isEmpty())) {
            return null;
        }
        String at = pointer + "/patternProperties";
        if (!node.isObject()) {
            throw GrammarException.schema("patternProperties", at, "must be an object of patterns to schemas");
        }
        if (node.size() > MAX_PATTERNS) {
            throw GrammarException.schema("patternProperties", at, "has " + node.size() + " patterns; more than "
                    + MAX_PATTERNS + " cannot be enforced exactly (a key may match any set of them)");
        }
        PatternProperties p = new PatternProperties(pointer);
        for (var it = node.fields(); it.hasNext(); ) {
            var e = it.next();
            String where = at + "/" + JsonObjects.escape(e.getKey());
            Grammar regex;
            try {
                regex = RegexParser.parse(e.getKey(), false);
            } catch (GrammarException ex) {
                throw GrammarException.schema("patternProperties", where, "cannot be enforced: " + ex.getMessage());
            }
            p.keys.add(Grammar.sequence(QUOTE, JsonStrings.encode(regex), QUOTE));
            p.schemas.add(e.getValue());
            p.pointers.add(where);
        }
        return p;
    }

    /** The schemas of the patterns that {@code name} matches (empty: none). */
    List<JsonNode> schemasMatching(String name) {
        String spelled = JsonObjects.quoted(name);
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            if (matches(regular(keys.get(i)), spelled)) {
                out.add(schemas.get(i));
            }
        }
        return out;
    }

    /**
     * The members with undeclared keys: one per set of patterns a key can match, then, unless {@code additional} is
     * null (additionalProperties false), the keys that match none with that value.
     */
    List<Grammar> undeclaredMembers(List<String> declared, Grammar additional, JsonSchemaGrammar converter) {
        List<Grammar> declaredSpellings = new ArrayList<>();
        for (String name : declared) {
            declaredSpellings.add(Grammar.sequence(QUOTE, JsonStrings.encode(new Grammar.Literal(name)), QUOTE));
        }
        List<Grammar> out = new ArrayList<>();
        int n = keys.size();
        for (int set = 1; set < 1 << n; set++) {
            List<Grammar> excluded = new ArrayList<>(declaredSpellings);
            List<JsonNode> merged = new ArrayList<>();
            Grammar in = null;
            for (int i = 0; i < n; i++) {
                if ((set & 1 << i) != 0) {
                    in = in == null ? keys.get(i) : new Grammar.Intersection(in, keys.get(i));
                    merged.add(schemas.get(i));
                } else {
                    excluded.add(keys.get(i));
                }
            }
            if (Integer.bitCount(set) > 1 && isEmpty(regular(in))) {
                continue;   // no name matches all of these patterns
            }
            Grammar key = JsonValueGrammar.lexeme(excluded.isEmpty() ? in
                    : new Grammar.Difference(in, new Grammar.Alternatives(excluded)));
            out.add(Grammar.sequence(key, new Grammar.Literal(":"), value(merged, set, converter)));
        }
        if (additional != null) {
            out.add(Grammar.sequence(JsonStrings.undeclaredKey(declared, keys), new Grammar.Literal(":"), additional));
        }
        return out;
    }

    private Grammar value(List<JsonNode> merged, int set, JsonSchemaGrammar converter) {
        if (merged.size() == 1) {
            return converter.value(merged.get(0), pointers.get(Integer.numberOfTrailingZeros(set)));
        }
        try {
            return converter.allOf(merged, pointer + "/patternProperties&" + set);
        } catch (GrammarException e) {
            throw GrammarException.schema("patternProperties", pointer + "/patternProperties", "has patterns that"
                    + " a name can match together whose schemas cannot be merged: " + e.getMessage());
        }
    }

    private static RuleDfa regular(Grammar g) {
        return RegularCache.get(g, () -> RuleDfa.determinize(new NfaBuilder(g).buildRule(0)).trim(x -> true));
    }

    private static boolean isEmpty(RuleDfa dfa) {
        return !dfa.accepting[dfa.start] && !dfa.hasBytes(dfa.start);
    }

    private static boolean matches(RuleDfa dfa, String text) {
        int s = dfa.start;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            s = dfa.next(s, b & 0xFF);
            if (s < 0) {
                return false;
            }
        }
        return dfa.accepting[s];
    }
}
