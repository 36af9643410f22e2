package org.autoglm.node.batch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Gathers a batch's lines, as the input file streams by, into chunks whose lines share their priority, their
 * {@code required_tags} (a chunk runs on one node, which must have them all) and the first KV block of their prompt:
 * a chunk then has one prefix, and the node that holds it in its cache can take the chunk
 * ({@link org.autoglm.gossip.batch.ChunkOrder}). Lines with a short prompt (no full block) group by priority alone.
 * Memory stays bounded: past {@link #MAX_BUFFERED} lines held, the biggest group leaves early, topped up to a whole
 * chunk with lines of other groups of its priority and tags (lines that share no prefix with any other still travel 16 to a
 * chunk; the chunk names its biggest group's prefix when that group is at least half of it).
 */
final class ChunkGrouping {

    /** Lines held at most while waiting for their group to fill a chunk. */
    static final int MAX_BUFFERED = BatchRun.CHUNK_LINES * 16;

    /**
     * Lines for one chunk: their numbers and texts, their priority, the tags a node needs to run them and the hashes
     * of the prefix they all share.
     */
    record Group(int priority, List<String> requiredTags, long[] prefix, List<Integer> numbers, List<String> texts) {}

    private final int chunkLines;
    private final Map<String, Group> groups = new LinkedHashMap<>();
    private int buffered;

    ChunkGrouping(int chunkLines) {
        this.chunkLines = chunkLines;
    }

    /**
     * Adds a line.
     *
     * @param prefix       the chained block hashes of its prompt
     * @param requiredTags its {@code required_tags}, sorted
     * @return a group ready to open as a chunk (full, or the biggest one when too many lines are held), or null
     */
    Group add(int number, String text, int priority, long[] prefix, List<String> requiredTags) {
        String key = priority + "/" + requiredTags + "/" + (prefix.length == 0 ? "-" : Long.toString(prefix[0]));
        Group g = groups.get(key);
        if (g == null) {
            g = new Group(priority, requiredTags, prefix, new ArrayList<>(), new ArrayList<>());
            groups.put(key, g);
        } else if (!Arrays.equals(g.prefix(), prefix)) {
            g = new Group(priority, requiredTags, common(g.prefix(), prefix), g.numbers(), g.texts());
            groups.put(key, g);
        }
        g.numbers().add(number);
        g.texts().add(text);
        buffered++;
        if (g.numbers().size() >= chunkLines) {
            return take(key);
        }
        if (buffered > MAX_BUFFERED) {
            return takeBiggest();
        }
        return null;
    }

    /** Every line still held (the input has ended), as chunks: the biggest groups first, each topped up. */
    List<Group> rest() {
        List<Group> out = new ArrayList<>();
        while (!groups.isEmpty()) {
            out.add(takeBiggest());
        }
        return out;
    }

    private Group take(String key) {
        Group g = groups.remove(key);
        buffered -= g.numbers().size();
        return g;
    }

    /**
     * The biggest group, with lines of other groups of its priority and tags added (oldest groups first) up to a
     * chunk.
     */
    private Group takeBiggest() {
        String biggest = null;
        for (Map.Entry<String, Group> e : groups.entrySet()) {
            if (biggest == null || e.getValue().numbers().size() > groups.get(biggest).numbers().size()) {
                biggest = e.getKey();
            }
        }
        Group g = take(biggest);
        int own = g.numbers().size();
        List<Integer> numbers = new ArrayList<>(g.numbers());
        List<String> texts = new ArrayList<>(g.texts());
        for (java.util.Iterator<Group> it = groups.values().iterator(); it.hasNext() && numbers.size() < chunkLines; ) {
            Group other = it.next();
            if (other.priority() != g.priority() || !other.requiredTags().equals(g.requiredTags())) {
                continue;
            }
            int n = Math.min(chunkLines - numbers.size(), other.numbers().size());
            numbers.addAll(other.numbers().subList(0, n));
            texts.addAll(other.texts().subList(0, n));
            other.numbers().subList(0, n).clear();
            other.texts().subList(0, n).clear();
            buffered -= n;
            if (other.numbers().isEmpty()) {
                it.remove();
            }
        }
        return new Group(g.priority(), g.requiredTags(), 2 * own >= numbers.size() ? g.prefix() : new long[0], numbers,
                texts);
    }

    /** The leading hashes two chains share. */
    private static long[] common(long[] a, long[] b) {
        int n = 0;
        while (n < a.length && n < b.length && a[n] == b[n]) {
            n++;
        }
        return n == a.length ? a : Arrays.copyOf(a, n);
    }
}
