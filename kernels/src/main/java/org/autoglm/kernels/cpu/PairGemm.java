package org.autoglm.kernels.cpu;

import static org.autoglm.kernels.cpu.VectorKernels.F;
import static org.autoglm.kernels.cpu.VectorKernels.I;
import static org.autoglm.kernels.cpu.VectorKernels.L;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Five to eight tokens (batched decode) against q8_0 rows, two rows at a time: each weight vector is widened to floats
 * and scaled in registers once and meets eight tokens' activations (sixteen running sums, two rows by eight tokens), and
 * the weights stream from memory in order while the float work overlaps the loads. {@link TileGemm} instead widens a
 * tile into an array, then multiplies it: a store and two loads more per weight vector, and memory idle while it
 * multiplies, which pays when a tile meets many tokens (prefill). Measured against {@link TileGemm} at 6 and 8 tokens
 * (same JVM, alternating, thread CPU time; {@code KernelSpeed}): q8_0 1.2-1.6x; q4_0 (five operations to widen eight
 * nibbles' worth, not four) and bf16 (one) were no faster, so they stay on the tile. Splitting the columns into blocks so
 * that the activations stay in L1 measured slower (the weights no longer stream in order).
 *
 * <p>The kernel is one method written out with no helper calls and above C2's FreqInlineSize, so that C2 compiles it on
 * its own and never inlines it into a caller whose node budget it would exhaust (that left Vector API calls out of line
 * and boxed every vector; see {@link QuantizedRowDot}).
 */
final class PairGemm {

    /** Tokens whose sums are kept in registers at once: the most a call takes. */
    static final int TOKENS = 8;

    private PairGemm() {}

    /** Whether this kernel takes weights of {@code type}. */
    static boolean supports(WeightType type) {
        return type == WeightType.Q8_0;
    }

    /**
     * Slab rows {@code [local, local + count)} against {@code tokens} (at most {@link #TOKENS}) permuted activation rows
     * of {@code xp}; the sum for slab row {@code local + i} and token t goes to {@code out[o + t * os + i]}.
     */
    static void multiply(WeightType type, WeightMatrix.Slab s, int local, int count, int cols, float[] xp, int tokens,
                         float[] out, int o, int os, Scratch scratch) {
        if (!supports(type) || tokens > TOKENS) {
            throw new IllegalArgumentException("PairGemm takes q8_0 rows and up to " + TOKENS + " tokens, not " + type
                    + " and " + tokens);
        }
        int blocks = cols / WeightType.BLOCK;
        float[] sc = scratch.scales(Math.max(cols, 2 * blocks + 2 * L));
        int vc = VectorKernels.vectorCols(type, cols);
        for (int i = 0; i < count; i += 2) {
            int r0 = local + i;
            int r1 = local + Math.min(i + 1, count - 1);
            boolean second = i + 1 < count;
            // row r1's block scales at sc[blocks + L ..], r0's at sc[0 ..]
            VectorKernels.blockScales(s.scales(), r1, cols, sc);
            System.arraycopy(sc, 0, sc, blocks + L, blocks);
            VectorKernels.blockScales(s.scales(), r0, cols, sc);
            q8(s.data(), r0, r1, vc, cols, xp, tokens, out, o + i, os, second, sc, blocks + L);
            if (vc < cols) {
                tail(type, s, r0, r1, cols, vc, xp, tokens, out, o + i, os, second);
            }
        }
    }

    /** The columns past the last whole chunk, one weight at a time (the activations there are in natural order). */
    private static void tail(WeightType type, WeightMatrix.Slab s, int r0, int r1, int cols, int vc, float[] xp,
                             int nt, float[] out, int o, int os, boolean second) {
        for (int k = 0; k < nt; k++) {
            int x = k * cols;
            float a = 0;
            float b = 0;
            for (int j = vc; j < cols; j++) {
                a += VectorKernels.weight(type, s.data(), s.scales(), r0, cols, j) * xp[x + j];
                b += VectorKernels.weight(type, s.data(), s.scales(), r1, cols, j) * xp[x + j];
            }
            // added to the vector part's sums, or the whole sum when the row is too short for a chunk
            out[o + k * os] = vc > 0 ? out[o + k * os] + a : a;
            if (second) out[o + k * os + 1] = vc > 0 ? out[o + k * os + 1] + b : b;
        }
    }

    /**
     * Two q8_0 rows against up to eight tokens; writes the sums of row {@code r0} at {@code out[o + k * os]} and, when
     * {@code second}, of {@code r1} at {@code out[o + k * os + 1]}. Four signed bytes a lane, each sub-vector scaled by
     * its lanes' block scales ({@code sc[0 ..]} for row {@code r0}, {@code sc[sc1 ..]} for {@code r1}).
     */
    private static void q8(ByteBuffer d, int r0, int r1, int vc, int cols, float[] xp, int nt, float[] out, int o,
                           int os, boolean second, float[] sc, int sc1) {
        int w0 = r0 * cols;
        int w1 = r1 * cols;
        int x0 = 0;
        int x1 = Math.min(1, nt - 1) * cols;
        int x2 = Math.min(2, nt - 1) * cols;
        int x3 = Math.min(3, nt - 1) * cols;
        int x4 = Math.min(4, nt - 1) * cols;
        int x5 = Math.min(5, nt - 1) * cols;
        int x6 = Math.min(6, nt - 1) * cols;
        int x7 = Math.min(7, nt - 1) * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
        for (int c = 0; c < vc; c += 4 * L) {
            IntVector v = VectorLoads.ints(I, d, w0 + c);
            IntVector u = VectorLoads.ints(I, d, w1 + c);
            FloatVector sv = FloatVector.fromArray(F, sc, c / WeightType.BLOCK).rearrange(VectorKernels.Q8_LANE_BLOCK);
            FloatVector su = FloatVector.fromArray(F, sc, sc1 + c / WeightType.BLOCK)
                    .rearrange(VectorKernels.Q8_LANE_BLOCK);
            for (int k = 0; k < 4; k++) {
                // signed byte k of each lane, as a float, times its block's scale
                FloatVector w = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24 - 8 * k)
                        .lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(sv);
                FloatVector z = ((FloatVector) u.lanewise(VectorOperators.LSHL, 24 - 8 * k)
                        .lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(su);
                int xo = c + k * L;
                FloatVector x = FloatVector.fromArray(F, xp, x0 + xo);
                a0 = w.fma(x, a0);
                b0 = z.fma(x, b0);
                x = FloatVector.fromArray(F, xp, x1 + xo);
                a1 = w.fma(x, a1);
                b1 = z.fma(x, b1);
                x = FloatVector.fromArray(F, xp, x2 + xo);
                a2 = w.fma(x, a2);
                b2 = z.fma(x, b2);
                x = FloatVector.fromArray(F, xp, x3 + xo);
                a3 = w.fma(x, a3);
                b3 = z.fma(x, b3);
                x = FloatVector.fromArray(F, xp, x4 + xo);
                a4 = w.fma(x, a4);
                b4 = z.fma(x, b4);
                x = FloatVector.fromArray(F, xp, x5 + xo);
                a5 = w.fma(x, a5);
                b5 = z.fma(x, b5);
                x = FloatVector.fromArray(F, xp, x6 + xo);
                a6 = w.fma(x, a6);
                b6 = z.fma(x, b6);
                x = FloatVector.fromArray(F, xp, x7 + xo);
                a7 = w.fma(x, a7);
                b7 = z.fma(x, b7);
            }
        }
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        if (nt > 1) out[o + os] = a1.reduceLanes(VectorOperators.ADD);
        if (nt > 2) out[o + 2 * os] = a2.reduceLanes(VectorOperators.ADD);
        if (nt > 3) out[o + 3 * os] = a3.reduceLanes(VectorOperators.ADD);
        if (nt > 4) out[o + 4 * os] = a4.reduceLanes(VectorOperators.ADD);
        if (nt > 5) out[o + 5 * os] = a5.reduceLanes(VectorOperators.ADD);
        if (nt > 6) out[o + 6 * os] = a6.reduceLanes(VectorOperators.ADD);
        if (nt > 7) out[o + 7 * os] = a7.reduceLanes(VectorOperators.ADD);
        if (!second) return;
        out[o + 1] = b0.reduceLanes(VectorOperators.ADD);
        if (nt > 1) out[o + os + 1] = b1.reduceLanes(VectorOperators.ADD);
        if (nt > 2) out[o + 2 * os + 1] = b2.reduceLanes(VectorOperators.ADD);
        if (nt > 3) out[o + 3 * os + 1] = b3.reduceLanes(VectorOperators.ADD);
        if (nt > 4) out[o + 4 * os + 1] = b4.reduceLanes(VectorOperators.ADD);
        if (nt > 5) out[o + 5 * os + 1] = b5.reduceLanes(VectorOperators.ADD);
        if (nt > 6) out[o + 6 * os + 1] = b6.reduceLanes(VectorOperators.ADD);
        if (nt > 7) out[o + 7 * os + 1] = b7.reduceLanes(VectorOperators.ADD);
    }
}
