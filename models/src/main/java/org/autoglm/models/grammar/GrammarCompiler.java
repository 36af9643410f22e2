package org.autoglm.models.grammar;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles grammars against one vocabulary and caches the results by grammar tree (thread-safe). Also holds
 * the token sets that do not depend on the grammar (how the vocabulary walks through common lexical rules such
 * as a JSON string), so a new grammar starts with them warm.
 */
public final class GrammarCompiler {

    private static final int CACHED_GRAMMARS = 256;

    private final TokenVocabulary vocabulary;
    private final TokenSetCache.Shared shared;
    private final Map<Grammar, CompiledGrammar> cache = Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override protected boolean removeEldestEntry(Map.Entry<Grammar, CompiledGrammar> eldest) {
                    return size() > CACHED_GRAMMARS;
                }
            });

    public GrammarCompiler(TokenVocabulary vocabulary) {
        this.vocabulary = vocabulary;
        this.shared = new TokenSetCache.Shared(vocabulary);
    }

    public TokenVocabulary vocabulary() {
        return vocabulary;
    }

    /** @throws GrammarException when the grammar is malformed, matches nothing, or is left-recursive */
    public CompiledGrammar compile(Grammar grammar) {
        CompiledGrammar hit = cache.get(grammar);
        if (hit != null) {
            return hit;
        }
        CompiledGrammar compiled = build(grammar);
        cache.put(grammar, compiled);
        return compiled;
    }

    private CompiledGrammar build(Grammar grammar) {
        NfaBuilder builder = new NfaBuilder(grammar);
        List<RuleDfa> dfas = new ArrayList<>();
        List<Boolean> trimmed = new ArrayList<>();
        for (int r = 0; r < builder.ruleCount(); r++) {   // ruleCount grows as Rules nodes are met
            Grammar body = builder.body(r);
            int rule = r;
            boolean regular = RegularCache.isRegular(body);
            dfas.add(regular
                    ? RegularCache.get(body, () -> RuleDfa.determinize(builder.buildRule(rule)).trim(x -> true))
                    : RuleDfa.determinize(builder.buildRule(r)));
            trimmed.add(regular);
        }
        RuleDfa[] rules = dfas.toArray(new RuleDfa[0]);
        boolean[] productive = productiveRules(rules);
        if (!productive[0]) {
            throw new GrammarException("the grammar matches no text at all");
        }
        for (int r = 0; r < rules.length; r++) {
            if (!trimmed.get(r)) {
                rules[r] = rules[r].trim(x -> productive[x]);
            }
        }
        checkNoLeftRecursion(rules, builder.names);
        StringLengths[] lengths = new StringLengths[rules.length];
        for (int r = 0; r < rules.length; r++) {
            lengths[r] = StringLengths.of(builder.body(r), rules[r]);
        }
        return new CompiledGrammar(rules, lengths, builder.names, vocabulary, shared);
    }

    /** Rules that match at least one text: a least fixpoint over byte edges and calls to productive rules. */
    private static boolean[] productiveRules(RuleDfa[] rules) {
        boolean[] productive = new boolean[rules.length];
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int r = 0; r < rules.length; r++) {
                if (!productive[r] && canAccept(rules[r], productive)) {
                    productive[r] = true;
                    changed = true;
                }
            }
        }
        return productive;
    }

    private static boolean canAccept(RuleDfa dfa, boolean[] productive) {
        boolean[] seen = new boolean[dfa.states()];
        int[] todo = new int[dfa.states()];
        int top = 0;
        todo[top++] = dfa.start;
        seen[dfa.start] = true;
        while (top > 0) {
            int s = todo[--top];
            if (dfa.accepting[s]) {
                return true;
            }
            for (int k = dfa.rangeOffset[s]; k < dfa.rangeOffset[s + 1]; k++) {
                if (!seen[dfa.rangeTarget[k]]) {
                    seen[dfa.rangeTarget[k]] = true;
                    todo[top++] = dfa.rangeTarget[k];
                }
            }
            for (int k = dfa.callOffset[s]; k < dfa.callOffset[s + 1]; k++) {
                if (productive[dfa.callRule[k]] && !seen[dfa.callTarget[k]]) {
                    seen[dfa.callTarget[k]] = true;
                    todo[top++] = dfa.callTarget[k];
                }
            }
        }
        return false;
    }

    /**
     * A rule that can call itself before reading a byte would push forever; such grammars are refused (rewrite
     * {@code a ::= a x | y} as {@code a ::= y x*}).
     */
    private static void checkNoLeftRecursion(RuleDfa[] rules, List<String> names) {
        boolean[] nullable = new boolean[rules.length];
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int r = 0; r < rules.length; r++) {
                if (!nullable[r] && !leftCalls(rules[r], nullable, true).isEmpty()) {
                    nullable[r] = true;
                    changed = true;
                }
            }
        }
        List<List<Integer>> left = new ArrayList<>();
        for (RuleDfa rule : rules) {
            left.add(leftCalls(rule, nullable, false));
        }
        int[] color = new int[rules.length];
        for (int r = 0; r < rules.length; r++) {
            if (color[r] == 0) {
                findCycle(r, left, color, names);
            }
        }
    }

    private static void findCycle(int r, List<List<Integer>> left, int[] color, List<String> names) {
        color[r] = 1;
        for (int callee : left.get(r)) {
            if (color[callee] == 1) {
                throw new GrammarException("rule '" + names.get(callee) + "' is left-recursive (it can reach itself"
                        + " before any text); rewrite it with repetition, e.g. a ::= y x* instead of a ::= a x | y");
            }
            if (color[callee] == 0) {
                findCycle(callee, left, color, names);
            }
        }
        color[r] = 2;
    }

    /**
     * With {@code acceptMarker}: a non-empty list when the rule can end without a byte. Otherwise: the rules it
     * can call before reading a byte.
     */
    private static List<Integer> leftCalls(RuleDfa dfa, boolean[] nullable, boolean acceptMarker) {
        List<Integer> calls = new ArrayList<>();
        boolean[] seen = new boolean[dfa.states()];
        int[] todo = new int[dfa.states()];
        int top = 0;
        todo[top++] = dfa.start;
        seen[dfa.start] = true;
        while (top > 0) {
            int s = todo[--top];
            if (acceptMarker && dfa.accepting[s]) {
                return List.of(-1);
            }
            for (int k = dfa.callOffset[s]; k < dfa.callOffset[s + 1]; k++) {
                calls.add(dfa.callRule[k]);
                if (nullable[dfa.callRule[k]] && !seen[dfa.callTarget[k]]) {
                    seen[dfa.callTarget[k]] = true;
                    todo[top++] = dfa.callTarget[k];
                }
            }
        }
        return acceptMarker ? List.of() : calls;
    }
}
