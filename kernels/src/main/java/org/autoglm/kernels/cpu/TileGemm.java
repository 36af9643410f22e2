package org.autoglm.kernels.cpu;

import static org.autoglm.kernels.cpu.VectorKernels.F;
import static org.autoglm.kernels.cpu.VectorKernels.I;
import static org.autoglm.kernels.cpu.VectorKernels.L;
import static org.autoglm.kernels.cpu.VectorKernels.LE;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Several tokens against a run of weight rows: the prefill and batched-decode kernel, a blocked GEMM. A tile of
 * {@link #TILE_ROWS} rows is widened once into floats (in the activations' permuted order), then every group of four
 * tokens meets every group of four tile rows in a register-blocked 4x4 kernel: each loaded weight vector serves four
 * tokens and each loaded activation vector four rows, and widening a quantized weight is paid once per step rather than
 * once per token. The weights are read from memory once per step whatever the number of tokens.
 */
final class TileGemm {

    /** Rows widened at once: a tile of a 5632-wide row stays within a core's L2 (~360 KB). */
    static final int TILE_ROWS = 16;

    private TileGemm() {}

    /**
     * Slab rows {@code [local, local + count)} against {@code tokens} permuted activation rows of {@code xp}; the sum
     * for slab row {@code local + i} and token t goes to {@code out[o + t * os + i]}.
     */
    static void multiply(WeightType type, WeightMatrix.Slab s, int local, int count, int cols, float[] xp, int tokens,
                         float[] out, int o, int os, Scratch scratch) {
        int vc = VectorKernels.vectorCols(type, cols);
        float[] tile = scratch.tile(TILE_ROWS * vc);
        float[] scales = scratch.scales(cols);
        float[] sums = scratch.sums;
        for (int r0 = 0; r0 < count; r0 += TILE_ROWS) {
            int n = Math.min(TILE_ROWS, count - r0);
            for (int i = 0; i < n; i++) {
                widen(type, s, local + r0 + i, cols, vc, tile, i * vc, scales);
            }
            for (int t = 0; t < tokens; t += 4) {
                int nt = Math.min(4, tokens - t);
                for (int i = 0; i < n; i += 4) {
                    int nr = Math.min(4, n - i);
                    block(tile, vc, i, nr, xp, cols, t, nt, sums);
                    for (int ti = 0; ti < nt; ti++) {
                        for (int ri = 0; ri < nr; ri++) {
                            int row = local + r0 + i + ri;
                            float sum = sums[4 * ti + ri];
                            int x = (t + ti) * cols;
                            for (int j = vc; j < cols; j++) {
                                sum += VectorKernels.weight(type, s.data(), s.scales(), row, cols, j) * xp[x + j];
                            }
                            out[o + (t + ti) * os + r0 + i + ri] = sum;
                        }
                    }
                }
            }
        }
    }

    /** Tile rows {@code i .. i + nr} (up to four) against tokens {@code t .. t + nt}; {@code sums[4 * token + row]}. */
    private static void block(float[] tile, int vc, int i, int nr, float[] xp, int cols, int t, int nt, float[] sums) {
        int w0 = i * vc;
        int w1 = (i + Math.min(1, nr - 1)) * vc;
        int w2 = (i + Math.min(2, nr - 1)) * vc;
        int w3 = (i + Math.min(3, nr - 1)) * vc;
        int x0 = t * cols;
        int x1 = (t + Math.min(1, nt - 1)) * cols;
        int x2 = (t + Math.min(2, nt - 1)) * cols;
        int x3 = (t + Math.min(3, nt - 1)) * cols;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int c = 0; c < vc; c += L) {
            FloatVector r0 = FloatVector.fromArray(F, tile, w0 + c);
            FloatVector r1 = FloatVector.fromArray(F, tile, w1 + c);
            FloatVector r2 = FloatVector.fromArray(F, tile, w2 + c);
            FloatVector r3 = FloatVector.fromArray(F, tile, w3 + c);
            FloatVector x = FloatVector.fromArray(F, xp, x0 + c);
            a00 = r0.fma(x, a00);
            a01 = r1.fma(x, a01);
            a02 = r2.fma(x, a02);
            a03 = r3.fma(x, a03);
            x = FloatVector.fromArray(F, xp, x1 + c);
            a10 = r0.fma(x, a10);
            a11 = r1.fma(x, a11);
            a12 = r2.fma(x, a12);
            a13 = r3.fma(x, a13);
            x = FloatVector.fromArray(F, xp, x2 + c);
            a20 = r0.fma(x, a20);
            a21 = r1.fma(x, a21);
            a22 = r2.fma(x, a22);
            a23 = r3.fma(x, a23);
            x = FloatVector.fromArray(F, xp, x3 + c);
            a30 = r0.fma(x, a30);
            a31 = r1.fma(x, a31);
            a32 = r2.fma(x, a32);
            a33 = r3.fma(x, a33);
        }
        store4(sums, 0, a00, a01, a02, a03);
        store4(sums, 4, a10, a11, a12, a13);
        store4(sums, 8, a20, a21, a22, a23);
        store4(sums, 12, a30, a31, a32, a33);
    }

    private static void store4(float[] sums, int o, FloatVector a, FloatVector b, FloatVector c, FloatVector d) {
        sums[o] = a.reduceLanes(VectorOperators.ADD);
        sums[o + 1] = b.reduceLanes(VectorOperators.ADD);
        sums[o + 2] = c.reduceLanes(VectorOperators.ADD);
        sums[o + 3] = d.reduceLanes(VectorOperators.ADD);
    }

    /** The vector columns of one slab row as floats, in the permuted order, at {@code tile[to ..]}. */
    private static void widen(WeightType type, WeightMatrix.Slab s, int row, int cols, int vc, float[] tile, int to,
                              float[] scales) {
        ByteBuffer d = s.data();
        switch (type) {
            case F32 -> {
                int base = row * cols * 4;
                for (int c = 0; c < vc; c += L) {
                    FloatVector.fromByteBuffer(F, d, base + 4 * c, LE).intoArray(tile, to + c);
                }
            }
            case BF16, F16 -> widenHalf(d, row * cols * 2, vc, tile, to, type == WeightType.F16);
            case Q8_0 -> {
                VectorKernels.blockScales(s.scales(), row, cols, scales);
                widenQ8(d, row * cols, vc, tile, to, scales);
            }
            case Q4_0 -> {
                VectorKernels.blockScales(s.scales(), row, cols, scales);
                widenQ4(d, row * (cols / 2), vc, tile, to, scales);
            }
        }
    }

    private static void widenHalf(ByteBuffer d, int base, int vc, float[] tile, int to, boolean f16) {
        for (int c = 0; c < vc; c += 2 * L) {
            IntVector v = IntVector.fromByteBuffer(I, d, base + 2 * c, LE);
            (f16 ? VectorKernels.f16(v, 0) : VectorKernels.bf16(v, 0)).intoArray(tile, to + c);
            (f16 ? VectorKernels.f16(v, 1) : VectorKernels.bf16(v, 1)).intoArray(tile, to + c + L);
        }
    }

    private static void widenQ8(ByteBuffer d, int base, int vc, float[] tile, int to, float[] sc) {
        for (int c = 0; c < vc; c += 4 * L) {
            IntVector v = IntVector.fromByteBuffer(I, d, base + c, LE);
            FloatVector scale = VectorKernels.laneScales(WeightType.Q8_0, sc, c);
            VectorKernels.q8(v, 0).mul(scale).intoArray(tile, to + c);
            VectorKernels.q8(v, 1).mul(scale).intoArray(tile, to + c + L);
            VectorKernels.q8(v, 2).mul(scale).intoArray(tile, to + c + 2 * L);
            VectorKernels.q8(v, 3).mul(scale).intoArray(tile, to + c + 3 * L);
        }
    }

    private static void widenQ4(ByteBuffer d, int base, int vc, float[] tile, int to, float[] sc) {
        for (int c = 0; c < vc; c += 8 * L) {
            IntVector v = IntVector.fromByteBuffer(I, d, base + c / 2, LE);
            FloatVector scale = VectorKernels.laneScales(WeightType.Q4_0, sc, c);
            for (int m = 0; m < 8; m++) {
                VectorKernels.q4(v, m).mul(scale).intoArray(tile, to + c + m * L);
            }
        }
    }
}
