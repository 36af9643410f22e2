package org.autoglm.models.sampling;

/**
 * A grammar's allowed next tokens as a bitmask (bit {@code t % 64} of word {@code t / 64} set: token t allowed),
 * applied to logits by setting every other entry to minus infinity, which every sampling mode then skips.
 */
public final class TokenMask {

    private TokenMask() {}

    /**
     * Masks {@code logits} in place.
     *
     * @return how many entries stay allowed
     */
    public static int apply(float[] logits, long[] mask) {
        int allowed = 0;
        int words = Math.min(mask.length, (logits.length + 63) >>> 6);
        for (int w = 0; w < words; w++) {
            long bits = mask[w];
            int base = w << 6;
            int end = Math.min(64, logits.length - base);
            if (bits == -1L && end == 64) {
                allowed += 64;
                continue;
            }
            for (int b = 0; b < end; b++) {
                if ((bits & (1L << b)) == 0) {
                    logits[base + b] = Float.NEGATIVE_INFINITY;
                } else {
                    allowed++;
                }
            }
        }
        for (int i = words << 6; i < logits.length; i++) logits[i] = Float.NEGATIVE_INFINITY;
        return allowed;
    }
}
