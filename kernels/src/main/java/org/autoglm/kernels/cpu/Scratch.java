package org.autoglm.kernels.cpu;

/** Per-thread scratch of the kernels, grown on demand and reused across steps (nothing is allocated per token). */
final class Scratch {

    /** Expanded block scales of up to four rows. */
    private float[] scales = new float[0];
    /** Four dot products of one row against four tokens. */
    final float[] sums = new float[4];
    /** Attention scores of one query against its context. */
    private float[] scores = new float[0];

    float[] scales(int cols) {
        if (scales.length < cols) {
            scales = new float[cols];
        }
        return scales;
    }

    float[] scores(int length) {
        if (scores.length < length) {
            scores = new float[Math.max(length, 2 * scores.length)];
        }
        return scores;
    }
}
