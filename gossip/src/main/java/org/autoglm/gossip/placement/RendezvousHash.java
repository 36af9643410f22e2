package org.autoglm.gossip.placement;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.UUID;

/**
 * Consistent hashing by highest random weight: a key goes to the node with the highest hash of (key, node).
 * When a node joins or leaves, only the keys it wins or held move; every other key keeps its node.
 */
public final class RendezvousHash {

    private RendezvousHash() {}

    /** The node that owns {@code key} among {@code nodes}, or null when there are none. */
    public static UUID owner(String key, Collection<UUID> nodes) {
        UUID best = null;
        long bestScore = Long.MIN_VALUE;
        for (UUID node : nodes) {
            long score = score(key, node);
            if (best == null || score > bestScore || (score == bestScore && node.compareTo(best) < 0)) {
                best = node;
                bestScore = score;
            }
        }
        return best;
    }

    static long score(String key, UUID node) {
        long h = 0xcbf29ce484222325L; // FNV-1a over the key's bytes, then mixed with the node id
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return mix(h ^ mix(node.getMostSignificantBits() ^ Long.rotateLeft(node.getLeastSignificantBits(), 32)));
    }

    /** The murmur3 64-bit finalizer: spreads every input bit over the output. */
    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }
}
