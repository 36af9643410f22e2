package org.autoglm.models.grammar;

import java.util.List;

/**
 * A grammar compiled against one vocabulary: one deterministic automaton per rule, rule 0 the root. Immutable
 * and shared by every request that uses the same grammar; the token-set caches it holds fill as requests walk it
 * and are safe to share between threads.
 */
public final class CompiledGrammar {

    final RuleDfa[] rules;
    final List<String> ruleNames;
    final TokenVocabulary vocabulary;
    final ParseState initial;
    final TokenSetCache tokenSets;
    /** Per rule: its character counts when it is a JSON string with only a length bound, else null. */
    final StringLengths[] stringLengths;

    CompiledGrammar(RuleDfa[] rules, StringLengths[] stringLengths, List<String> ruleNames,
            TokenVocabulary vocabulary, TokenSetCache.Shared shared) {
        this.rules = rules;
        this.stringLengths = stringLengths;
        this.ruleNames = List.copyOf(ruleNames);
        this.vocabulary = vocabulary;
        this.initial = new Parser(rules).start(0, null);
        this.tokenSets = new TokenSetCache(this, shared);
    }

    public TokenVocabulary vocabulary() {
        return vocabulary;
    }

    /** Total automaton states over all rules (a size figure for logs and benchmarks). */
    public int stateCount() {
        int n = 0;
        for (RuleDfa r : rules) {
            n += r.states();
        }
        return n;
    }

    @Override
    public String toString() {
        return "CompiledGrammar[" + rules.length + " rules, " + stateCount() + " states]";
    }
}
