package org.autoglm.kernels.cpu;

/**
 * {@code out[t, r] = W[r, :] · x[t, :]} for a range of rows of one {@link WeightMatrix} and every token of a step, the
 * inner loop of {@code nn.Linear}. The activations are laid out once per step for the kernel their token count gets
 * ({@link #prepare}). Fewer than {@link #TILED_TOKENS} tokens: row by row ({@link RowDot}, or {@link QuantizedRowDot}
 * against quantized activations; a row's weights stay in L1 across the tokens). Five to eight against q8_0 (batched
 * decode): two rows at a time, widened in registers ({@link PairGemm}). Up to {@link #LANE_TOKENS}: the blocked
 * dot-product GEMM ({@link TileGemm}). From there (prefill): the GEMM with the tokens in the vector lanes
 * ({@link LaneGemm}).
 */
final class MatrixKernels {

    /** Tokens from which widening a tile once and reusing it beats a dot product per token. */
    static final int TILED_TOKENS = 4;
    /**
     * Tokens from which q8_0 rows go to {@link PairGemm} (up to its {@link PairGemm#TOKENS}): it always works out
     * eight, so at four the tile's one group of four is cheaper.
     */
    static final int PAIR_TOKENS = 5;

    /**
     * Tokens from which the activations are transposed for {@link LaneGemm}: 0.99-1.22x {@link TileGemm}'s speed at 32
     * tokens, 1.1-1.5x from 64 (a full chunk), 0.74-0.93x at 16 (bench/RESULTS.md, 2026-12-07 17:00-17:40 UTC).
     */
    static final int LANE_TOKENS = 32;

    private MatrixKernels() {}

    /** Floats of {@code xp} that {@link #prepare} needs for {@code tokens} rows of {@code cols}. */
    static int activationsLength(int tokens, int cols) {
        return tokens >= LANE_TOKENS ? LaneGemm.transposedLength(tokens, cols) : tokens * cols;
    }

    /**
     * Lays out {@code tokens} rows of {@code cols} activations {@code in} as the kernels for matrices of {@code type}
     * read them: quantized into {@code xq} (returned), or into {@code xp} as permuted rows ({@link VectorKernels#permute})
     * or, from {@link #LANE_TOKENS}, transposed for {@link LaneGemm} (null returned).
     */
    static QuantizedActivations prepare(WeightType type, float[] in, int tokens, int cols, float[] xp,
                                        QuantizedActivations xq) {
        if (quantizedActivations(type, tokens)) {
            xq.quantize(type, in, tokens, cols);
            return xq;
        }
        boolean lanes = tokens >= LANE_TOKENS;
        for (int t = 0; t < tokens; t++) {
            VectorKernels.permute(type, in, t * cols, cols, xp, lanes ? LaneGemm.offset(t, cols) : t * cols,
                    lanes ? LaneGemm.CHUNK : 1);
        }
        if (lanes) {
            LaneGemm.zeroPadding(tokens, cols, xp);
        }
        return null;
    }

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
     * Rows {@code [r0, r1)} of {@code m} against {@code tokens} activations laid out by {@link #prepare}; writes
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
            if (tokens >= LANE_TOKENS) {
                LaneGemm.multiply(m.type, slab, local, count, m.cols, xp, tokens, out, outOffset + r, outStride,
                        scratch);
            } else if (tokens >= PAIR_TOKENS && tokens <= PairGemm.TOKENS && PairGemm.supports(m.type)) {
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
