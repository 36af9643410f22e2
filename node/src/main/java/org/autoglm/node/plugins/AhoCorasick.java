package org.autoglm.node.plugins;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds any of a set of words in text in one pass (Aho-Corasick automaton over UTF-16 chars, case-folded),
 * so Chinese words work like any other. {@link Stream} matches across chunk boundaries: it holds back exactly
 * the characters that could still begin a word.
 */
public final class AhoCorasick {

    private final List<Map<Character, Integer>> next = new ArrayList<>();
    private final List<Integer> failList = new ArrayList<>();
    private final List<Integer> depthList = new ArrayList<>();
    private final List<Integer> ownLenList = new ArrayList<>();
    private int[] fail;
    private int[] depth;
    /** Length of the longest word that ends at this state (itself or via failure links), 0 if none. */
    private int[] matchLen;

    public AhoCorasick(Collection<String> words) {
        addState(0);
        for (String w : words) {
            if (!w.isEmpty()) {
                insert(fold(w));
            }
        }
        link();
    }

    /** True if {@code text} contains any word. */
    public boolean matches(String text) {
        int s = 0;
        for (int i = 0; i < text.length(); i++) {
            s = step(s, text.charAt(i));
            if (matchLen[s] > 0) {
                return true;
            }
        }
        return false;
    }

    /** {@code text} with every occurrence of every word replaced by {@code *}, one per char. */
    public String mask(String text) {
        Stream stream = new Stream(true);
        try {
            return stream.accept(text) + stream.flush();
        } catch (ContentRejectedException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** Incremental matching over the chunks of one text. Not thread-safe; one per stream. */
    public final class Stream {
        private final boolean mask;
        private final StringBuilder pending = new StringBuilder();
        private int state;

        /** @param mask true to replace matches with {@code *}; false to throw at the first match */
        public Stream(boolean mask) {
            this.mask = mask;
        }

        /** Feeds a chunk; returns the text that can no longer be part of a match. */
        public String accept(String chunk) throws ContentRejectedException {
            for (int i = 0; i < chunk.length(); i++) {
                char c = chunk.charAt(i);
                pending.append(c);
                state = step(state, c);
                int len = matchLen[state];
                if (len > 0) {
                    if (!mask) {
                        throw new ContentRejectedException("Output contains a blocked word.");
                    }
                    // The match's start is never emitted yet: we hold back depth[state] >= len chars.
                    for (int j = pending.length() - len; j < pending.length(); j++) {
                        pending.setCharAt(j, '*');
                    }
                }
            }
            int emit = pending.length() - Math.min(depth[state], pending.length());
            String out = pending.substring(0, emit);
            pending.delete(0, emit);
            return out;
        }

        /** The stream ended: everything held back is final. */
        public String flush() {
            String out = pending.toString();
            pending.setLength(0);
            state = 0;
            return out;
        }
    }

    private int step(int s, char raw) {
        char c = Character.toLowerCase(raw);
        while (true) {
            Integer t = next.get(s).get(c);
            if (t != null) {
                return t;
            }
            if (s == 0) {
                return 0;
            }
            s = fail[s];
        }
    }

    private void insert(String word) {
        int s = 0;
        for (int i = 0; i < word.length(); i++) {
            char c = word.charAt(i);
            Integer t = next.get(s).get(c);
            if (t == null) {
                t = addState(depthList.get(s) + 1);
                next.get(s).put(c, t);
            }
            s = t;
        }
        ownLenList.set(s, word.length());
    }

    private int addState(int d) {
        next.add(new HashMap<>(4));
        failList.add(0);
        depthList.add(d);
        ownLenList.add(0);
        return next.size() - 1;
    }

    /** Breadth-first: failure links, and the longest match reachable through them. */
    private void link() {
        int n = next.size();
        fail = new int[n];
        depth = new int[n];
        matchLen = new int[n];
        for (int i = 0; i < n; i++) {
            depth[i] = depthList.get(i);
            matchLen[i] = ownLenList.get(i);
        }
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        for (int child : next.get(0).values()) {
            queue.add(child);
        }
        while (!queue.isEmpty()) {
            int s = queue.poll();
            matchLen[s] = Math.max(matchLen[s], matchLen[fail[s]]);
            for (Map.Entry<Character, Integer> e : next.get(s).entrySet()) {
                int child = e.getValue();
                int f = fail[s];
                while (f != 0 && !next.get(f).containsKey(e.getKey())) {
                    f = fail[f];
                }
                Integer target = next.get(f).get(e.getKey());
                fail[child] = target != null && target != child ? target : 0;
                queue.add(child);
            }
        }
    }

    private static String fold(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            b.append(Character.toLowerCase(s.charAt(i)));
        }
        return b.toString();
    }
}
