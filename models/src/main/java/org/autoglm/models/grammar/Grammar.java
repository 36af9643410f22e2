package org.autoglm.models.grammar;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a grammar is built from: an immutable tree of rules over text. Pure data, no vocabulary; equal trees
 * compile to the same {@link CompiledGrammar} (the compiler caches by tree). Text is matched as UTF-8 bytes, so
 * a token that ends inside a multi-byte character is allowed when the character can still be completed.
 */
public sealed interface Grammar {

    /** Exactly this text. */
    record Literal(String text) implements Grammar { }

    /** One Unicode code point out of a set, given as sorted, disjoint, inclusive [from, to] pairs. */
    record CharClass(int[] ranges) implements Grammar {
        @Override public boolean equals(Object o) {
            return o instanceof CharClass c && Arrays.equals(ranges, c.ranges);
        }
        @Override public int hashCode() {
            return Arrays.hashCode(ranges);
        }
        @Override public String toString() {
            return "CharClass" + Arrays.toString(ranges);
        }
    }

    /** The parts one after another. */
    record Sequence(List<Grammar> parts) implements Grammar { }

    /** Any one of the alternatives (none: nothing matches). */
    record Alternatives(List<Grammar> alternatives) implements Grammar { }

    /** {@code item} between {@code min} and {@code max} times ({@code Integer.MAX_VALUE}: unbounded). */
    record Repeat(Grammar item, int min, int max) implements Grammar { }

    /** Named, possibly recursive rules; the whole matches rule {@code root}. Names are scoped to this node. */
    record Rules(String root, Map<String, Grammar> rules) implements Grammar { }

    /** A use of a rule of the nearest enclosing {@link Rules} that defines {@code name}. */
    record RuleRef(String name) implements Grammar { }

    /** Text of {@code base} that is not text of {@code excluded}; both must be regular (no rule references). */
    record Difference(Grammar base, Grammar excluded) implements Grammar { }

    /** Text of both; both must be regular (no rule references). */
    record Intersection(Grammar left, Grammar right) implements Grammar { }

    /**
     * An ordered list of items separated by {@code separator}, where each item may be left out unless required,
     * followed by any number of {@code extra} items (null: none); the whole may be empty when nothing is required.
     * How a JSON object's members are written without an exponential tree.
     */
    record OrderedMembers(List<Grammar> items, List<Boolean> required, Grammar separator, Grammar extra)
            implements Grammar { }

    /** See {@link #triggered(Map, boolean)}. */
    record Triggered(Map<String, Grammar> grammarAfterTrigger, boolean textAfter) implements Grammar { }

    static Grammar jsonSchema(String schemaJson) {
        return JsonSchemaGrammar.fromSchema(schemaJson);
    }

    /** Any JSON object (response_format json_object). */
    static Grammar anyJsonObject() {
        return JsonValueGrammar.anyObject();
    }

    /** Any JSON value. */
    static Grammar anyJson() {
        return JsonValueGrammar.anyValue();
    }

    /** An ECMAScript-style regular expression matching the whole text; throws {@link GrammarException}. */
    static Grammar regex(String pattern) {
        return RegexParser.parse(pattern, true);
    }

    static Grammar choice(List<String> literals) {
        return new Alternatives(literals.stream().map(s -> (Grammar) new Literal(s)).toList());
    }

    /** GBNF (llama.cpp) / EBNF with a {@code root} rule; throws {@link GrammarException}. */
    static Grammar ebnf(String gbnf) {
        return EbnfParser.parse(gbnf);
    }

    static Grammar literal(String text) {
        return new Literal(text);
    }

    static Grammar sequence(Grammar... parts) {
        return new Sequence(List.of(parts));
    }

    static Grammar anyOf(Grammar... alternatives) {
        return new Alternatives(List.of(alternatives));
    }

    static Grammar repeat(Grammar item, int min, int max) {
        if (min < 0 || max < min) {
            throw new GrammarException("repeat bounds must satisfy 0 <= min <= max, got " + min + ".." + max);
        }
        return new Repeat(item, min, max);
    }

    /** Any text. */
    static Grammar freeText() {
        return new Repeat(CharClasses.ANY, 0, Integer.MAX_VALUE);
    }

    /**
     * Free text until one of the triggers is produced; then the trigger's grammar must follow; after it ends,
     * free text again (or end) when {@code textAfter}, else the output must end. XGrammar's structural tag: how
     * tool_choice=auto completes a started call. The free text never contains a trigger.
     */
    static Grammar triggered(Map<String, Grammar> grammarAfterTrigger, boolean textAfter) {
        if (grammarAfterTrigger.isEmpty()) {
            throw new GrammarException("triggered grammar needs at least one trigger");
        }
        for (String trigger : grammarAfterTrigger.keySet()) {
            if (trigger.isEmpty()) {
                throw new GrammarException("a trigger must not be empty");
            }
        }
        return new Triggered(new LinkedHashMap<>(grammarAfterTrigger), textAfter);
    }
}
