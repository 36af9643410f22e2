package org.autoglm.models.backend;

/**
 * What {@link Backend#forwardAndSample} returns, one entry per chunk in order.
 *
 * @param tokenIds the token drawn on the device, or -1 (no logits wanted, or sampled on the host)
 * @param logits   the last token's logits of a chunk sampled on the host that wants them, else null
 */
public record SampledStep(int[] tokenIds, float[][] logits) {

    /** A step sampled wholly on the host: {@link Backend#forward}'s logits, no device tokens. */
    public static SampledStep ofLogits(float[][] logits) {
        int[] none = new int[logits.length];
        java.util.Arrays.fill(none, -1);
        return new SampledStep(none, logits);
    }
}
