package org.autoglm.models.grammar;

import java.util.ArrayDeque;
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
            calls.add(new int[0]);
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

    /** Subset construction; rule calls are symbols like bytes. */
    static RuleDfa determinize(Nfa nfa) {
        int[][] eps = nfa.index(nfa.epsFrom, nfa.epsCount);
        int[][] byteRows = nfa.index(nfa.byteFrom, nfa.byteCount);
        int[][] callRows = nfa.index(nfa.callFrom, nfa.callCount);
        Builder b = new Builder();
        Map<IntKey, Integer> ids = new HashMap<>();
        List<int[]> sets = new ArrayList<>();
        Closure closure = new Closure(nfa, eps);
        int[] startSet = closure.of(new int[] {nfa.start}, 1);
        ids.put(new IntKey(startSet), b.add(contains(startSet, nfa.accept)));
        sets.add(startSet);
        int[] marks = new int[258];
        for (int d = 0; d < sets.size(); d++) {
            int[] set = sets.get(d);
            // Byte edges: cut 0..255 at every edge boundary, one target set per piece.
            int edgeCount = 0;
            for (int s : set) {
                edgeCount += byteRows[s].length;
            }
            int[] edges = new int[edgeCount];
            int[] targets = new int[edgeCount];
            edgeCount = 0;
            Arrays.fill(marks, 0);
            for (int s : set) {
                for (int e : byteRows[s]) {
                    edges[edgeCount++] = e;
                    marks[nfa.byteLo[e]] = 1;
                    marks[nfa.byteHi[e] + 1] = 1;
                }
            }
            List<Integer> out = new ArrayList<>();
            if (edgeCount > 0) {
                int pieceStart = -1;
                for (int x = 0; x <= 256; x++) {
                    if (marks[x] == 0 && x < 256) {
                        continue;
                    }
                    if (pieceStart >= 0) {
                        int lo = pieceStart;
                        int hi = x - 1;
                        int count = 0;
                        for (int k = 0; k < edgeCount; k++) {
                            int e = edges[k];
                            if (nfa.byteLo[e] <= lo && nfa.byteHi[e] >= hi) {
                                targets[count++] = nfa.byteTo[e];
                            }
                        }
                        if (count > 0) {
                            int t = stateOf(closure.of(targets, count), ids, sets, b, nfa.accept);
                            int n = out.size();
                            if (n > 0 && out.get(n - 1) == t && out.get(n - 2) == lo - 1) {
                                out.set(n - 2, hi);
                            } else {
                                out.add(lo);
                                out.add(hi);
                                out.add(t);
                            }
                        }
                    }
                    pieceStart = x;
                }
            }
            b.ranges.set(d, out.stream().mapToInt(Integer::intValue).toArray());
            TreeMap<Integer, List<Integer>> byRule = new TreeMap<>();
            for (int s : set) {
                for (int e : callRows[s]) {
                    byRule.computeIfAbsent(nfa.callRule[e], k -> new ArrayList<>()).add(nfa.callTo[e]);
                }
            }
            int[] calls = new int[2 * byRule.size()];
            int k = 0;
            for (var entry : byRule.entrySet()) {
                int[] callTargets = entry.getValue().stream().mapToInt(Integer::intValue).toArray();
                calls[k++] = entry.getKey();
                calls[k++] = stateOf(closure.of(callTargets, callTargets.length), ids, sets, b, nfa.accept);
            }
            b.calls.set(d, calls);
        }
        return b.build(0);
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
        final int[][] eps;
        final int[] stamp;
        int current;
        int[] stack = new int[64];

        Closure(Nfa nfa, int[][] eps) {
            this.nfa = nfa;
            this.eps = eps;
            this.stamp = new int[nfa.states];
        }

        int[] of(int[] seeds, int seedCount) {
            current++;
            int[] out = new int[Math.max(8, seedCount)];
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
                for (int e : eps[s]) {
                    int t = nfa.epsTo[e];
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
        List<List<Integer>> reverse = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            reverse.add(new ArrayList<>());
        }
        for (int s = 0; s < n; s++) {
            for (int k = rangeOffset[s]; k < rangeOffset[s + 1]; k++) {
                reverse.get(rangeTarget[k]).add(s);
            }
            for (int k = callOffset[s]; k < callOffset[s + 1]; k++) {
                if (productive.test(callRule[k])) {
                    reverse.get(callTarget[k]).add(s);
                }
            }
        }
        boolean[] live = new boolean[n];
        ArrayDeque<Integer> todo = new ArrayDeque<>();
        for (int s = 0; s < n; s++) {
            if (accepting[s]) {
                live[s] = true;
                todo.push(s);
            }
        }
        while (!todo.isEmpty()) {
            for (int p : reverse.get(todo.pop())) {
                if (!live[p]) {
                    live[p] = true;
                    todo.push(p);
                }
            }
        }
        Builder b = new Builder();
        if (!live[start]) {
            b.add(false);
            b.ranges.set(0, new int[0]);
            return b.build(0);
        }
        int[] map = new int[n];
        Arrays.fill(map, -1);
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        map[start] = b.add(accepting[start]);
        queue.add(start);
        List<Integer> order = new ArrayList<>();
        while (!queue.isEmpty()) {
            int s = queue.poll();
            order.add(s);
            for (int k = rangeOffset[s]; k < rangeOffset[s + 1]; k++) {
                int t = rangeTarget[k];
                if (live[t] && map[t] < 0) {
                    map[t] = b.add(accepting[t]);
                    queue.add(t);
                }
            }
            for (int k = callOffset[s]; k < callOffset[s + 1]; k++) {
                int t = callTarget[k];
                if (productive.test(callRule[k]) && live[t] && map[t] < 0) {
                    map[t] = b.add(accepting[t]);
                    queue.add(t);
                }
            }
        }
        for (int s : order) {
            List<Integer> r = new ArrayList<>();
            for (int k = rangeOffset[s]; k < rangeOffset[s + 1]; k++) {
                if (live[rangeTarget[k]]) {
                    r.add(rangeFirst[k]);
                    r.add(rangeLast[k]);
                    r.add(map[rangeTarget[k]]);
                }
            }
            List<Integer> c = new ArrayList<>();
            for (int k = callOffset[s]; k < callOffset[s + 1]; k++) {
                if (productive.test(callRule[k]) && live[callTarget[k]]) {
                    c.add(callRule[k]);
                    c.add(map[callTarget[k]]);
                }
            }
            b.ranges.set(map[s], r.stream().mapToInt(Integer::intValue).toArray());
            b.calls.set(map[s], c.stream().mapToInt(Integer::intValue).toArray());
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
            List<Integer> r = new ArrayList<>();
            for (int x = 0; x < 256; x++) {
                int ta = a.next(sa, x);
                if (ta < 0) {
                    continue;
                }
                int tb = sb < 0 ? -1 : b.next(sb, x);
                if (!difference && tb < 0) {
                    continue;
                }
                long key = pack(ta, tb);
                Integer id = ids.get(key);
                if (id == null) {
                    id = out.add(productAccepts(a, b, ta, tb, difference));
                    ids.put(key, id);
                    pairs.add(new long[] {ta, tb});
                }
                int n = r.size();
                if (n > 0 && r.get(n - 1) == (int) id && r.get(n - 2) == x - 1) {
                    r.set(n - 2, x);
                } else {
                    r.add(x);
                    r.add(x);
                    r.add(id);
                }
            }
            out.ranges.set(d, r.stream().mapToInt(Integer::intValue).toArray());
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
