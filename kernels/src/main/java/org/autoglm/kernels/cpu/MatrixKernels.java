package org.autoglm.kernels.cpu;

/**
 * {@code out[t, r] = W[r, :] · x[t, :]} for a range of rows of one {@link WeightMatrix} and every token of a step, the
 * inner loop of {@code nn.Linear}. Activations arrive permuted ({@link VectorKernels#permute}), one row of
 * {@code cols} per token. Fewer than {@link #TILED_TOKENS} tokens: row by row ({@link RowDot}; a row's weights stay in
 * L1 across the tokens). Five to eight against q8_0 (batched decode): two rows at a time, widened in registers
 * ({@link PairGemm}). Otherwise: the blocked GEMM ({@link TileGemm}).
 */
final class MatrixKernels {

    /** Tokens from which widening a tile once and reusing it beats a dot product per token. */
    static final int TILED_TOKENS = 4;
    /**
     * Tokens from which q8_0 rows go to {@link PairGemm} (up to its {@link PairGemm#TOKENS}): it always works out
     * eight, so at four the tile's one group of four is cheaper.
     */
    static final int PAIR_TOKENS = 5;

    private MatrixKernels() {}

    /**
     * Whether {@code tokens} activation rows meet matrices of {@code type} as {@link QuantizedActivations} (integer dot
     * products, as llama.cpp does) rather than as floats: q8_0 and q4_0 weights, row by row. (q4_0 was on floats while
     * its integer kernel, inlined into its callers, was compiled with boxed vectors in some runs; see
     * {@link QuantizedRowDot}.)
     */
    static boolean quantizedActivations(WeightType type, int tokens) {
        return type.quantized() && tokens < TILED_TOKENS;
    }

    /**
     * Rows {@code [r0, r1)} of {@code m} against {@code tokens} permuted activation rows {@code xp}; writes
     * {@code out[outOffset + t * outStride + r]}, using the calling thread's {@code scratch}.
     */
    static void multiply(WeightMatrix m, int r0, int r1, float[] xp, int tokens, float[] out, int outStride,
                         int outOffset, Scratch scratch) {
        multiply(m, r0, r1, xp, null, tokens, out, outStride, outOffset, scratch);
    }

    /**
     * As above; row by row, a quantized matrix meets {@code xq} (the same activations quantized for its type, see
     * {@link #quantizedActivations}) when given, else {@code xp}.
     */
    static void multiply(WeightMatrix m, int r0, int r1, float[] xp, QuantizedActivations xq, int tokens, float[] out,
                         int outStride, int outOffset, Scratch scratch) {
        float[] scales = scratch.scales(m.cols);
        int r = r0;
        while (r < r1) {
            int slabIndex = r / m.rowsPerSlab;
            int slabEnd = Math.min(r1, (slabIndex + 1) * m.rowsPerSlab);
            WeightMatrix.Slab slab = m.slabs[slabIndex];
            int local = r - slabIndex * m.rowsPerSlab;
            int count = slabEnd - r;
            if (tokens >= PAIR_TOKENS && tokens <= PairGemm.TOKENS && PairGemm.supports(m.type)) {
                PairGemm.multiply(m.type, slab, local, count, m.cols, xp, tokens, out, outOffset + r, outStride,
                        scratch);
            } else if (tokens >= TILED_TOKENS) {
                TileGemm.multiply(m.type, slab, local, count, m.cols, xp, tokens, out, outOffset + r, outStride,
                        scratch);
            } else {
                for (int i = 0; i < count; i++) {
                    for (int t = 0; t < tokens; t++) {
                        out[outOffset + t * outStride + r + i] = xq != null
                                ? QuantizedRowDot.dot(m.type, slab, local + i, m.cols, xq, t, scales)
                                : RowDot.dot(m.type, slab, local + i, m.cols, xp, t * m.cols, scales);
                    }
                }
            }
            r = slabEnd;
        }
    }
}
