package org.autoglm.models.grammar;

import java.util.Arrays;

/**
 * A rule automaton's byte transitions as one flat table, for the token-trie walks that step it hundreds of
 * thousands of times per walk: bytes that every state treats alike share a class (a JSON string's automaton has
 * about twenty), and {@code next[state * classes + classOf[b]]} replaces a search of the state's byte ranges.
 * Per state, {@link #flags} says whether it accepts and whether any byte leaves it.
 */
final class DenseTransitions {

    /** Past this many table cells (16 MB) the walk keeps using {@link RuleDfa#next}. */
    private static final long MAX_CELLS = 1 << 22;
    static final byte ACCEPTING = 1;
    static final byte HAS_BYTES = 2;

    final byte[] classOf = new byte[256];
    final int classes;
    final int[] next;
    final byte[] flags;

    private DenseTransitions(RuleDfa dfa, int classes, int[] representative) {
        this.classes = classes;
        int n = dfa.states();
        this.next = new int[n * classes];
        this.flags = new byte[n];
        for (int s = 0; s < n; s++) {
            for (int c = 0; c < classes; c++) {
                next[s * classes + c] = dfa.next(s, representative[c]);
            }
            flags[s] = (byte) ((dfa.accepting[s] ? ACCEPTING : 0) | (dfa.hasBytes(s) ? HAS_BYTES : 0));
        }
    }

    /** The table of {@code dfa}, or null when it would be too large. */
    static DenseTransitions of(RuleDfa dfa) {
        // Every range boundary of every state starts a new class; bytes between two boundaries behave alike.
        boolean[] cut = new boolean[257];
        cut[0] = true;
        for (int k = 0; k < dfa.rangeFirst.length; k++) {
            cut[dfa.rangeFirst[k]] = true;
            cut[dfa.rangeLast[k] + 1] = true;
        }
        byte[] classOf = new byte[256];
        int[] representative = new int[256];
        int classes = 0;
        for (int b = 0; b < 256; b++) {
            if (cut[b]) {
                representative[classes++] = b;
            }
            classOf[b] = (byte) (classes - 1);
        }
        if ((long) classes * dfa.states() > MAX_CELLS) {
            return null;
        }
        DenseTransitions t = new DenseTransitions(dfa, classes, Arrays.copyOf(representative, classes));
        System.arraycopy(classOf, 0, t.classOf, 0, 256);
        return t;
    }
}
