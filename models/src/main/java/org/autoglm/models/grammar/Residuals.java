package org.autoglm.models.grammar;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Names what a call-free automaton does from a state on (its residual), so that states of different automata
 * that behave alike share work: two states with the same name allow the same byte strings and accept after the
 * same ones. Two kinds of name:
 * <ul>
 * <li>{@link #shape}: the automaton reachable from the state, renumbered in visiting order. Equal for the content
 *   of a plain string and for the content of a key that may not equal a declared key, once it has left every
 *   declared key (both are the same subset construction from there on).</li>
 * <li>{@link #boundedId}: what the state does over the next {@code k} bytes only, hash-consed bottom up (the
 *   interned tuple of its accepting flag and its byte ranges, each leading to the bounded id of (target, k - 1)).
 *   Equal for a plain string's content and a string counted under {@code maxLength} with at least {@code k}
 *   characters left; enough for a trie subtree whose tokens end within {@code k} bytes.</li>
 * </ul>
 */
final class Residuals {

    /** Longest shape written out; larger automata have no shape name. */
    static final int MAX_SHAPE_CHARS = 16_384;
    /** Residuals with more states than this are named by their bounded id (writing them out costs too much). */
    private static final int MAX_SHAPE_STATES = 256;
    /** Past this many distinct names new ones are not made (callers then walk instead of sharing). */
    private static final int MAX_IDS = 1 << 21;
    private static final int UNKNOWN = -2;
    /**
     * Automata larger than this get no bounded ids: naming their states costs up to states x depth tuples on the
     * first walk (tens of ms for a string counted to 200), more than walking the trie.
     */
    private static final int MAX_BOUNDED_STATES = 512;

    private record Tuple(int[] parts) {
        @Override public boolean equals(Object o) {
            return o instanceof Tuple t && Arrays.equals(parts, t.parts);
        }

        @Override public int hashCode() {
            return Arrays.hashCode(parts);
        }
    }

    /** Per automaton: its states' shape ids, and (state, k) to bounded id. */
    private static final class PerAutomaton {
        final int[] shapeIds;
        final Map<Long, Integer> bounded = new HashMap<>();

        PerAutomaton(int states) {
            shapeIds = new int[states];
            Arrays.fill(shapeIds, UNKNOWN);
        }
    }

    private final ConcurrentHashMap<String, Integer> shapeIds = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Tuple, Integer> boundedIds = new ConcurrentHashMap<>();
    private final AtomicInteger nextId = new AtomicInteger();
    private final Map<RuleDfa, PerAutomaton> byAutomaton = Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * A name for what {@code state} does over the next {@code k} bytes: its shape id when the shape is small
     * enough to write out, otherwise its bounded id (tagged so the two kinds never collide); -1 when neither.
     */
    long name(RuleDfa dfa, int state, int k) {
        PerAutomaton p = byAutomaton.computeIfAbsent(dfa, d -> new PerAutomaton(d.states()));
        synchronized (p) {
            if (p.shapeIds[state] == UNKNOWN) {
                String shape = reachesAtMost(dfa, state, MAX_SHAPE_STATES) ? shape(dfa, state) : null;
                p.shapeIds[state] = shape == null || shapeIds.size() >= MAX_IDS ? -1
                        : shapeIds.computeIfAbsent(shape, s -> nextId.getAndIncrement());
            }
            if (p.shapeIds[state] >= 0) {
                return p.shapeIds[state];
            }
            if (dfa.states() > MAX_BOUNDED_STATES) {
                return -1;
            }
            int bounded = boundedId(dfa, state, k, p.bounded);
            return bounded < 0 ? -1 : (1L << 32) | bounded;
        }
    }

    /**
     * The automaton reachable from {@code state}, written out with states renumbered in visiting order; null
     * when the automaton calls other rules (then the answer depends on them too) or it is too large to write.
     */
    static String shape(RuleDfa dfa, int state) {
        if (dfa.hasCalls()) {
            return null;
        }
        int[] number = new int[dfa.states()];
        Arrays.fill(number, -1);
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        number[state] = 0;
        queue.add(state);
        int next = 1;
        StringBuilder sb = new StringBuilder();
        while (!queue.isEmpty()) {
            int s = queue.poll();
            sb.append(dfa.accepting[s] ? 'A' : 'N');
            for (int k = dfa.rangeOffset[s]; k < dfa.rangeOffset[s + 1]; k++) {
                int t = dfa.rangeTarget[k];
                if (number[t] < 0) {
                    number[t] = next++;
                    queue.add(t);
                }
                sb.append(dfa.rangeFirst[k]).append('-').append(dfa.rangeLast[k]).append('>').append(number[t])
                        .append(',');
            }
            sb.append(';');
            if (sb.length() > MAX_SHAPE_CHARS) {
                return null;
            }
        }
        return sb.toString();
    }

    /** True when at most {@code limit} states are reachable from {@code state}. */
    private static boolean reachesAtMost(RuleDfa dfa, int state, int limit) {
        int[] queue = new int[limit + 1];
        boolean[] seen = new boolean[dfa.states()];
        int head = 0;
        int tail = 0;
        queue[tail++] = state;
        seen[state] = true;
        while (head < tail) {
            int s = queue[head++];
            for (int k = dfa.rangeOffset[s]; k < dfa.rangeOffset[s + 1]; k++) {
                int t = dfa.rangeTarget[k];
                if (!seen[t]) {
                    if (tail > limit - 1) {
                        return false;
                    }
                    seen[t] = true;
                    queue[tail++] = t;
                }
            }
        }
        return true;
    }

    private int boundedId(RuleDfa dfa, int state, int k, Map<Long, Integer> memo) {
        long key = ((long) state << 16) | k;
        Integer known = memo.get(key);
        if (known != null) {
            return known;
        }
        int from = dfa.rangeOffset[state];
        int to = dfa.rangeOffset[state + 1];
        int[] parts = new int[1 + (k == 0 ? 0 : 3 * (to - from))];
        parts[0] = dfa.accepting[state] ? 1 : 0;
        int n = 1;
        if (k > 0) {
            for (int r = from; r < to; r++) {
                int target = boundedId(dfa, dfa.rangeTarget[r], k - 1, memo);
                if (target < 0) {
                    return -1;
                }
                if (n > 1 && parts[n - 1] == target && parts[n - 2] + 1 == dfa.rangeFirst[r]) {
                    parts[n - 2] = dfa.rangeLast[r];   // continues the previous range to the same place
                } else {
                    parts[n++] = dfa.rangeFirst[r];
                    parts[n++] = dfa.rangeLast[r];
                    parts[n++] = target;
                }
            }
        }
        Tuple tuple = new Tuple(n == parts.length ? parts : Arrays.copyOf(parts, n));
        Integer id = boundedIds.get(tuple);
        if (id == null) {
            if (boundedIds.size() >= MAX_IDS) {
                return -1;
            }
            id = boundedIds.computeIfAbsent(tuple, t -> nextId.getAndIncrement());
        }
        memo.put(key, id);
        return id;
    }
}
