package org.autoglm.models.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntPredicate;

/**
 * The deterministic automaton of one rule: per state, sorted byte ranges to a next state and rule calls (callee,
 * state to continue at when the callee returns). A state is accepting when the rule may return there. Every
 * state can still reach acceptance (dead states are trimmed), so a live state means a viable prefix.
 */
final class RuleDfa {

    static final int MAX_STATES = 200_000;

    final int start;
    final boolean[] accepting;
    final int[] rangeOffset;
    final int[] rangeFirst;
    final int[] rangeLast;
    final int[] rangeTarget;
    final int[] callOffset;
    final int[] callRule;
    final int[] callTarget;

    private RuleDfa(int start, boolean[] accepting, int[] rangeOffset, int[] rangeFirst, int[] rangeLast,
            int[] rangeTarget, int[] callOffset, int[] callRule, int[] callTarget) {
        this.start = start;
        this.accepting = accepting;
        this.rangeOffset = rangeOffset;
        this.rangeFirst = rangeFirst;
        this.rangeLast = rangeLast;
        this.rangeTarget = rangeTarget;
        this.callOffset = callOffset;
        this.callRule = callRule;
        this.callTarget = callTarget;
    }

    private static final Object NO_TABLE = new Object();
    /** The {@link DenseTransitions} (or NO_TABLE), built on first use; a race may build it twice, harmlessly. */
    private volatile Object dense;

    int states() {
        return accepting.length;
    }

    /** The flat transition table for token walks, or null when the automaton is too large for one. */
    DenseTransitions dense() {
        Object d = dense;
        if (d == null) {
            DenseTransitions table = DenseTransitions.of(this);
            d = table == null ? NO_TABLE : table;
            dense = d;
        }
        return d == NO_TABLE ? null : (DenseTransitions) d;
    }

    /** The state after byte {@code b} (0..255), or -1. */
    int next(int state, int b) {
        for (int k = rangeOffset[state], end = rangeOffset[state + 1]; k < end; k++) {
            if (b < rangeFirst[k]) {
                return -1;
            }
            if (b <= rangeLast[k]) {
                return rangeTarget[k];
            }
        }
        return -1;
    }

    boolean hasBytes(int state) {
        return rangeOffset[state + 1] > rangeOffset[state];
    }

    boolean hasCalls() {
        return callRule.length > 0;
    }

    // ---- building ----

    /** A growable DFA under construction. */
    private static final class Builder {
        final List<int[]> ranges = new ArrayList<>();   // per state: first,last,target triples
        final List<int[]> calls = new ArrayList<>();    // per state: rule,target pairs
        final List<Boolean> accepting = new ArrayList<>();

        int add(boolean accept) {
            if (accepting.size() >= MAX_STATES) {
                throw new GrammarException("grammar too complex: a rule needs more than " + MAX_STATES
                        + " deterministic states (simplify the pattern or lower repetition counts)");
            }
            accepting.add(accept);
            ranges.add(null);
            calls.add(NO_INTS);
            return accepting.size() - 1;
        }

        RuleDfa build(int start) {
            int n = accepting.size();
            boolean[] acc = new boolean[n];
            int[] rOff = new int[n + 1];
            int[] cOff = new int[n + 1];
            for (int s = 0; s < n; s++) {
                acc[s] = accepting.get(s);
                rOff[s + 1] = rOff[s] + ranges.get(s).length / 3;
                cOff[s + 1] = cOff[s] + calls.get(s).length / 2;
            }
            int[] first = new int[rOff[n]];
            int[] last = new int[rOff[n]];
            int[] target = new int[rOff[n]];
            int[] cRule = new int[cOff[n]];
            int[] cTarget = new int[cOff[n]];
            for (int s = 0; s < n; s++) {
                int[] r = ranges.get(s);
                for (int k = 0; k < r.length / 3; k++) {
                    first[rOff[s] + k] = r[3 * k];
                    last[rOff[s] + k] = r[3 * k + 1];
                    target[rOff[s] + k] = r[3 * k + 2];
                }
                int[] c = calls.get(s);
                for (int k = 0; k < c.length / 2; k++) {
                    cRule[cOff[s] + k] = c[2 * k];
                    cTarget[cOff[s] + k] = c[2 * k + 1];
                }
            }
            return new RuleDfa(start, acc, rOff, first, last, target, cOff, cRule, cTarget);
        }
    }

    private static final int[] NO_INTS = new int[0];

    /**
     * Subset construction; rule calls are symbols like bytes. Each subset's byte edges are cut at their own
     * boundaries only (sorted), so a state costs what its edges cost rather than a pass over all 256 bytes:
     * compiling a new schema is mostly this.
     */
    static RuleDfa determinize(Nfa nfa) {
        Nfa.Rows eps = nfa.index(nfa.epsFrom, nfa.epsCount);
        Nfa.Rows byteRows = nfa.index(nfa.byteFrom, nfa.byteCount);
        Nfa.Rows callRows = nfa.index(nfa.callFrom, nfa.callCount);
        Builder b = new Builder();
        Map<IntKey, Integer> ids = new HashMap<>();
        List<int[]> sets = new ArrayList<>();
        Closure closure = new Closure(nfa, eps);
        int[] startSet = closure.of(new int[] {nfa.start}, 1);
        ids.put(new IntKey(startSet), b.add(contains(startSet, nfa.accept)));
        sets.add(startSet);
        long[] byLo = new long[16];
        int[] active = new int[16];
        int[] targets = new int[16];
        int[] cuts = new int[32];
        LexemeWalk.IntList out = new LexemeWalk.IntList();
        for (int d = 0; d < sets.size(); d++) {
            int[] set = sets.get(d);
            int edgeCount = 0;
            boolean anyCall = false;
            for (int s : set) {
                edgeCount += byteRows.offset()[s + 1] - byteRows.offset()[s];
                anyCall |= callRows.offset()[s + 1] > callRows.offset()[s];
            }
            if (byLo.length < edgeCount) {
                byLo = new long[edgeCount];
                active = new int[edgeCount];
                targets = new int[edgeCount];
                cuts = new int[2 * edgeCount];
            }
            // Byte edges: cut 0..255 at every edge's first byte and one past its last, one target set per piece.
            // A sweep over the edges sorted by first byte keeps those covering the piece (few, even when the
            // subset has thousands of edges, as under an unanchored pattern's "any character").
            int n = 0;
            int cutCount = 0;
            for (int s : set) {
                for (int k = byteRows.offset()[s]; k < byteRows.offset()[s + 1]; k++) {
                    int e = byteRows.edges()[k];
                    byLo[n++] = ((long) nfa.byteLo[e] << 32) | e;
                    cuts[cutCount++] = nfa.byteLo[e];
                    cuts[cutCount++] = nfa.byteHi[e] + 1;
                }
            }
            Arrays.sort(cuts, 0, cutCount);
            Arrays.sort(byLo, 0, n);
            out.clear();
            int nextEdge = 0;
            int activeCount = 0;
            for (int c = 0; c + 1 < cutCount; c++) {
                int lo = cuts[c];
                if (lo == cuts[c + 1]) {
                    continue;
                }
                int hi = cuts[c + 1] - 1;
                int kept = 0;
                for (int a = 0; a < activeCount; a++) {
                    if (nfa.byteHi[active[a]] >= lo) {
                        active[kept++] = active[a];
                    }
                }
                activeCount = kept;
                while (nextEdge < n && (int) (byLo[nextEdge] >>> 32) <= lo) {
                    int e = (int) byLo[nextEdge++];
                    if (nfa.byteHi[e] >= lo) {
                        active[activeCount++] = e;   // it starts at or before lo and every edge end is a cut: covers the piece
                    }
                }
                int count = 0;
                for (int a = 0; a < activeCount; a++) {
                    targets[count++] = nfa.byteTo[active[a]];
                }
                if (count > 0) {
                    int t = stateOf(closure.of(targets, count), ids, sets, b, nfa.accept);
                    int size = out.size();
                    if (size > 0 && out.get(size - 1) == t && out.get(size - 2) == lo - 1) {
                        out.set(size - 2, hi);
                    } else {
                        out.add(lo);
                        out.add(hi);
                        out.add(t);
                    }
                }
            }
            b.ranges.set(d, out.toArray());
            b.calls.set(d, anyCall ? callsOf(set, nfa, callRows, closure, ids, sets, b) : NO_INTS);
        }
        return b.build(0);
    }

    /** The subset's rule calls as (callee, target state) pairs, by callee. */
    private static int[] callsOf(int[] set, Nfa nfa, Nfa.Rows callRows, Closure closure, Map<IntKey, Integer> ids,
            List<int[]> sets, Builder b) {
        TreeMap<Integer, List<Integer>> byRule = new TreeMap<>();
        for (int s : set) {
            for (int k = callRows.offset()[s]; k < callRows.offset()[s + 1]; k++) {
                int e = callRows.edges()[k];
                byRule.computeIfAbsent(nfa.callRule[e], x -> new ArrayList<>()).add(nfa.callTo[e]);
            }
        }
        int[] calls = new int[2 * byRule.size()];
        int k = 0;
        for (var entry : byRule.entrySet()) {
            int[] callTargets = entry.getValue().stream().mapToInt(Integer::intValue).toArray();
            calls[k++] = entry.getKey();
            calls[k++] = stateOf(closure.of(callTargets, callTargets.length), ids, sets, b, nfa.accept);
        }
        return calls;
    }

    private static int stateOf(int[] set, Map<IntKey, Integer> ids, List<int[]> sets, Builder b, int accept) {
        IntKey key = new IntKey(set);
        Integer id = ids.get(key);
        if (id == null) {
            id = b.add(contains(set, accept));
            ids.put(key, id);
            sets.add(set);
        }
        return id;
    }

    private static boolean contains(int[] sorted, int x) {
        return Arrays.binarySearch(sorted, x) >= 0;
    }

    /** Epsilon closure, with a visit stamp per NFA state so each call costs only what it touches. */
    private static final class Closure {
        final Nfa nfa;
        final Nfa.Rows eps;
        final int[] stamp;
        int current;
        int[] stack = new int[64];
        int[] out = new int[64];

        Closure(Nfa nfa, Nfa.Rows eps) {
            this.nfa = nfa;
            this.eps = eps;
            this.stamp = new int[nfa.states];
        }

        int[] of(int[] seeds, int seedCount) {
            current++;
            int n = 0;
            int top = 0;
            for (int i = 0; i < seedCount; i++) {
                int s = seeds[i];
                if (stamp[s] != current) {
                    stamp[s] = current;
                    stack = push(stack, top++, s);
                }
            }
            while (top > 0) {
                int s = stack[--top];
                if (n == out.length) {
                    out = Arrays.copyOf(out, n * 2);
                }
                out[n++] = s;
                for (int k = eps.offset()[s]; k < eps.offset()[s + 1]; k++) {
                    int t = nfa.epsTo[eps.edges()[k]];
                    if (stamp[t] != current) {
                        stamp[t] = current;
                        stack = push(stack, top++, t);
                    }
                }
            }
            int[] result = Arrays.copyOf(out, n);
            Arrays.sort(result);
            return result;
        }

        private static int[] push(int[] stack, int top, int v) {
            if (top == stack.length) {
                stack = Arrays.copyOf(stack, top * 2);
            }
            stack[top] = v;
            return stack;
        }
    }

    /**
     * Keeps the states that are reachable from the start and can still reach acceptance, calling only rules
     * that {@code productive} says can match something. A rule with nothing left matches nothing.
     */
    RuleDfa trim(IntPredicate productive) {
        int n = states();
        boolean[] callable = new boolean[callRule.length];
        for (int k = 0; k < callRule.length; k++) {
            callable[k] = productive.test(callRule[k]);
        }
        // Reverse edges as compressed rows: predecessors of t are pred[predOffset[t] .. predOffset[t + 1]).
        int[] predOffset = new int[n + 1];
        for (int t : rangeTarget) {
            predOffset[t + 1]++;
        }
        for (int k = 0; k < callTarget.length; k++) {
            if (callable[k]) {
                predOffset[callTarget[k] + 1]++;
            }
        }
        for (int s = 0; s < n; s++) {
            predOffset[s + 1] += predOffset[s];
        }
        int[] fill = Arrays.copyOf(predOffset, n);
        int[] pred = new int[predOffset[n]];
        for (int s = 0; s < n; s++) {
            for (int k = rangeOffset[s]; k < rangeOffset[s + 1]; k++) {
                pred[fill[rangeTarget[k]]++] = s;
            }
            for (int k = callOffset[s]; k < callOffset[s + 1]; k++) {
                if (callable[k]) {
                    pred[fill[callTarget[k]]++] = s;
                }
            }
        }
        boolean[] live = new boolean[n];
        int[] todo = new int[n];
        int top = 0;
        for (int s = 0; s < n; s++) {
            if (accepting[s]) {
                live[s] = true;
                todo[top++] = s;
            }
        }
        while (top > 0) {
            int t = todo[--top];
            for (int k = predOffset[t]; k < predOffset[t + 1]; k++) {
                if (!live[pred[k]]) {
                    live[pred[k]] = true;
                    todo[top++] = pred[k];
                }
            }
        }
        Builder b = new Builder();
        if (!live[start]) {
            b.add(false);
            b.ranges.set(0, NO_INTS);
            return b.build(0);
        }
        // Number the live states breadth first from the start (the order is part of the automaton's identity).
        int[] map = new int[n];
        Arrays.fill(map, -1);
        int[] order = todo;
        int head = 0;
        int tail = 0;
        map[start] = b.add(accepting[start]);
        order[tail++] = start;
        while (head < tail) {
            int s = order[head++];
            for (int k = rangeOffset[s]; k < rangeOffset[s + 1]; k++) {
                int t = rangeTarget[k];
                if (live[t] && map[t] < 0) {
                    map[t] = b.add(accepting[t]);
                    order[tail++] = t;
                }
            }
            for (int k = callOffset[s]; k < callOffset[s + 1]; k++) {
                int t = callTarget[k];
                if (callable[k] && live[t] && map[t] < 0) {
                    map[t] = b.add(accepting[t]);
                    order[tail++] = t;
                }
            }
        }
        LexemeWalk.IntList r = new LexemeWalk.IntList();
        LexemeWalk.IntList c = new LexemeWalk.IntList();
        for (int i = 0; i < tail; i++) {
            int s = order[i];
            r.clear();
            for (int k = rangeOffset[s]; k < rangeOffset[s + 1]; k++) {
                if (live[rangeTarget[k]]) {
                    r.add(rangeFirst[k]);
                    r.add(rangeLast[k]);
                    r.add(map[rangeTarget[k]]);
                }
            }
            c.clear();
            for (int k = callOffset[s]; k < callOffset[s + 1]; k++) {
                if (callable[k] && live[callTarget[k]]) {
                    c.add(callRule[k]);
                    c.add(map[callTarget[k]]);
                }
            }
            b.ranges.set(map[s], r.toArray());
            b.calls.set(map[s], c.size() == 0 ? NO_INTS : c.toArray());
        }
        return b.build(0);
    }

    /** Text of {@code a} and (intersection) or not (difference) of {@code b}; both call-free. */
    static RuleDfa product(RuleDfa a, RuleDfa b, boolean difference) {
        Builder out = new Builder();
        Map<Long, Integer> ids = new HashMap<>();
        List<long[]> pairs = new ArrayList<>();
        long startKey = pack(a.start, b.start);
        ids.put(startKey, out.add(productAccepts(a, b, a.start, b.start, difference)));
        pairs.add(new long[] {a.start, b.start});
        for (int d = 0; d < pairs.size(); d++) {
            int sa = (int) pairs.get(d)[0];
            int sb = (int) pairs.get(d)[1];
            LexemeWalk.IntList r = new LexemeWalk.IntList();
            // Walk a's ranges cut at b's boundaries: within a piece both automata go to one state each.
            for (int ka = a.rangeOffset[sa]; ka < a.rangeOffset[sa + 1]; ka++) {
                int ta = a.rangeTarget[ka];
                int x = a.rangeFirst[ka];
                while (x <= a.rangeLast[ka]) {
                    int hi = a.rangeLast[ka];
                    int tb = -1;
                    if (sb >= 0) {
                        for (int kb = b.rangeOffset[sb]; kb < b.rangeOffset[sb + 1]; kb++) {
                            if (b.rangeLast[kb] < x) {
                                continue;
                            }
                            if (b.rangeFirst[kb] <= x) {
                                tb = b.rangeTarget[kb];
                                hi = Math.min(hi, b.rangeLast[kb]);
                            } else {
                                hi = Math.min(hi, b.rangeFirst[kb] - 1);
                            }
                            break;
                        }
                    }
                    if (difference || tb >= 0) {
                        long key = pack(ta, tb);
                        Integer id = ids.get(key);
                        if (id == null) {
                            id = out.add(productAccepts(a, b, ta, tb, difference));
                            ids.put(key, id);
                            pairs.add(new long[] {ta, tb});
                        }
                        int n = r.size();
                        if (n > 0 && r.get(n - 1) == id && r.get(n - 2) == x - 1) {
                            r.set(n - 2, hi);
                        } else {
                            r.add(x);
                            r.add(hi);
                            r.add(id);
                        }
                    }
                    x = hi + 1;
                }
            }
            out.ranges.set(d, r.toArray());
        }
        return out.build(0).trim(rule -> true);
    }

    private static boolean productAccepts(RuleDfa a, RuleDfa b, int sa, int sb, boolean difference) {
        boolean inB = sb >= 0 && b.accepting[sb];
        return a.accepting[sa] && (difference ? !inB : inB);
    }

    private static long pack(int x, int y) {
        return ((long) x << 32) | (y & 0xFFFFFFFFL);
    }

    /** Copies this automaton into {@code nfa} between {@code from} and {@code to}. */
    void embedInto(Nfa nfa, int from, int to) {
        int n = states();
        int[] map = new int[n];
        for (int s = 0; s < n; s++) {
            map[s] = nfa.newState();
        }
        nfa.epsilon(from, map[start]);
        for (int s = 0; s < n; s++) {
            for (int k = rangeOffset[s]; k < rangeOffset[s + 1]; k++) {
                nfa.bytes(map[s], rangeFirst[k], rangeLast[k], map[rangeTarget[k]]);
            }
            for (int k = callOffset[s]; k < callOffset[s + 1]; k++) {
                nfa.call(map[s], callRule[k], map[callTarget[k]]);
            }
            if (accepting[s]) {
                nfa.epsilon(map[s], to);
            }
        }
    }

    /** An int[] usable as a hash key. */
    record IntKey(int[] values) {
        @Override public boolean equals(Object o) {
            return o instanceof IntKey k && Arrays.equals(values, k.values);
        }
        @Override public int hashCode() {
            return Arrays.hashCode(values);
        }
    }
}
