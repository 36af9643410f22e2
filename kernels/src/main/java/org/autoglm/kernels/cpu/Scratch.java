package org.autoglm.kernels.cpu;

/** Per-thread scratch of the kernels, grown on demand and reused across steps (nothing is allocated per token). */
final class Scratch {

    /** Block scales of one row as floats (with room for a vector load past the last). */
    private float[] scales = new float[0];
    /** Rows widened to floats for the tiled kernel. */
    private float[] tile = new float[0];
    /** Partial sums of the tiled kernel, one vector per token and tile row. */
    private float[] partials = new float[0];
    /** Attention scores of one query against its context. */
    private float[] scores = new float[0];
    /** Quantized rows on their way to the file (quantizing at load). */
    private java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(0);

    float[] scales(int cols) {
        if (scales.length < cols) {
            scales = new float[cols];
        }
        return scales;
    }

    float[] tile(int length) {
        if (tile.length < length) {
            tile = new float[length];
        }
        return tile;
    }

    float[] partials(int length) {
        if (partials.length < length) {
            partials = new float[length];
        }
        return partials;
    }

    float[] scores(int length) {
        if (scores.length < length) {
            scores = new float[Math.max(length, 2 * scores.length)];
        }
        return scores;
    }

    /** A cleared buffer of at least {@code length} bytes (its contents are left over). */
    java.nio.ByteBuffer bytes(int length) {
        if (bytes.capacity() < length) {
            bytes = java.nio.ByteBuffer.allocate(length);
        }
        return bytes.clear();
    }
}
