package org.autoglm.models.grammar;

import java.util.Arrays;

/**
 * A nondeterministic automaton of one rule: byte-range edges, rule-call edges (push the callee, continue at the
 * target when it returns) and epsilon edges. Built by {@link NfaBuilder}, made deterministic by
 * {@link RuleDfa#determinize}.
 */
final class Nfa {

    static final int MAX_STATES = 400_000;

    int states;
    int start;
    int accept;
    // Edge lists as parallel growable arrays.
    int[] epsFrom = new int[16];
    int[] epsTo = new int[16];
    int epsCount;
    int[] byteFrom = new int[16];
    int[] byteLo = new int[16];
    int[] byteHi = new int[16];
    int[] byteTo = new int[16];
    int byteCount;
    int[] callFrom = new int[4];
    int[] callRule = new int[4];
    int[] callTo = new int[4];
    int callCount;

    int newState() {
        if (states >= MAX_STATES) {
            throw new GrammarException("grammar too large: a rule needs more than " + MAX_STATES
                    + " automaton states (lower repetition counts such as maxLength or maxItems)");
        }
        return states++;
    }

    void epsilon(int from, int to) {
        if (epsCount == epsFrom.length) {
            epsFrom = Arrays.copyOf(epsFrom, epsCount * 2);
            epsTo = Arrays.copyOf(epsTo, epsCount * 2);
        }
        epsFrom[epsCount] = from;
        epsTo[epsCount++] = to;
    }

    void bytes(int from, int lo, int hi, int to) {
        if (byteCount == byteFrom.length) {
            byteFrom = Arrays.copyOf(byteFrom, byteCount * 2);
            byteLo = Arrays.copyOf(byteLo, byteCount * 2);
            byteHi = Arrays.copyOf(byteHi, byteCount * 2);
            byteTo = Arrays.copyOf(byteTo, byteCount * 2);
        }
        byteFrom[byteCount] = from;
        byteLo[byteCount] = lo;
        byteHi[byteCount] = hi;
        byteTo[byteCount++] = to;
    }

    void call(int from, int rule, int to) {
        if (callCount == callFrom.length) {
            callFrom = Arrays.copyOf(callFrom, callCount * 2);
            callRule = Arrays.copyOf(callRule, callCount * 2);
            callTo = Arrays.copyOf(callTo, callCount * 2);
        }
        callFrom[callCount] = from;
        callRule[callCount] = rule;
        callTo[callCount++] = to;
    }

    /**
     * Per-state edge indexes as compressed rows, built once before determinizing: the edges leaving state s are
     * {@code rows.edges[rows.offset[s] .. rows.offset[s + 1])}, in the order they were added.
     */
    Rows index(int[] from, int count) {
        int[] offset = new int[states + 1];
        for (int i = 0; i < count; i++) {
            offset[from[i] + 1]++;
        }
        for (int s = 0; s < states; s++) {
            offset[s + 1] += offset[s];
        }
        int[] fill = Arrays.copyOf(offset, states);
        int[] edges = new int[count];
        for (int i = 0; i < count; i++) {
            edges[fill[from[i]]++] = i;
        }
        return new Rows(offset, edges);
    }

    record Rows(int[] offset, int[] edges) { }
}
