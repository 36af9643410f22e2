package org.autoglm.kernels.cpu;

import static org.autoglm.kernels.cpu.VectorKernels.F;
import static org.autoglm.kernels.cpu.VectorKernels.I;
import static org.autoglm.kernels.cpu.VectorKernels.L;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Several tokens against a run of weight rows: the kernel of batched decode and short prefill chunks (up to
 * {@link MatrixKernels#LANE_TOKENS}; from there {@link LaneGemm}), a blocked GEMM. The columns are
 * taken {@link #K_BLOCK} at a time: a tile of {@link #TILE_ROWS} rows of those columns is widened once into floats (in
 * the activations' permuted order), then every group of four tokens meets every group of four tile rows in a
 * register-blocked 4x4 kernel: each loaded weight vector serves four tokens and each loaded activation vector four
 * rows, and widening a quantized weight is paid once per step rather than once per token. The tile (32 KB) and the
 * activations of a block stay in L1 while every token passes over them; the 4x4 partial sums wait between blocks as
 * vectors in scratch. The weights are read from memory once per step whatever the number of tokens.
 */
final class TileGemm {

    /** Rows widened at once. */
    static final int TILE_ROWS = 16;
    /** Columns widened at once: a multiple of every type's chunk; 16 rows of them as floats take 32 KB. */
    static final int K_BLOCK = 512;

    private TileGemm() {}

    /**
     * Slab rows {@code [local, local + count)} against {@code tokens} permuted activation rows of {@code xp}; the sum
     * for slab row {@code local + i} and token t goes to {@code out[o + t * os + i]}.
     */
    static void multiply(WeightType type, WeightMatrix.Slab s, int local, int count, int cols, float[] xp, int tokens,
                         float[] out, int o, int os, Scratch scratch) {
        int vc = VectorKernels.vectorCols(type, cols);
        float[] tile = scratch.tile(TILE_ROWS * K_BLOCK);
        float[] scales = scratch.scales(cols);
        int groups = (tokens + 3) / 4;
        float[] acc = scratch.partials(groups * TILE_ROWS * 4 * L);
        for (int r0 = 0; r0 < count; r0 += TILE_ROWS) {
            int n = Math.min(TILE_ROWS, count - r0);
            java.util.Arrays.fill(acc, 0, groups * TILE_ROWS * 4 * L, 0f);
            for (int k0 = 0; k0 < vc; k0 += K_BLOCK) {
                int kn = Math.min(K_BLOCK, vc - k0);
                for (int i = 0; i < n; i++) {
                    widen(type, s, local + r0 + i, cols, k0, kn, tile, i * K_BLOCK, scales);
                }
                for (int g = 0; g < groups; g++) {
                    int t = 4 * g;
                    int nt = Math.min(4, tokens - t);
                    for (int i = 0; i < n; i += 4) {
                        block(tile, i, Math.min(4, n - i), xp, cols, t, nt, k0, kn, acc, (g * TILE_ROWS + i) * 4 * L);
                    }
                }
            }
            for (int t = 0; t < tokens; t++) {
                for (int i = 0; i < n; i++) {
                    int row = local + r0 + i;
                    int a = ((t / 4) * TILE_ROWS + (i & ~3)) * 4 * L + (4 * (t % 4) + (i & 3)) * L;
                    float sum = FloatVector.fromArray(F, acc, a).reduceLanes(VectorOperators.ADD);
                    int x = t * cols;
                    for (int j = vc; j < cols; j++) {
                        sum += VectorKernels.weight(type, s.data(), s.scales(), row, cols, j) * xp[x + j];
                    }
                    out[o + t * os + r0 + i] = sum;
                }
            }
        }
    }

    /**
     * Tile rows {@code i .. i + nr} (up to four) against tokens {@code t .. t + nt}, columns {@code [k0, k0 + kn)};
     * adds to the partial-sum vectors {@code acc[a + (4 * token + row) * L ..]}.
     */
    private static void block(float[] tile, int i, int nr, float[] xp, int cols, int t, int nt, int k0, int kn,
                              float[] acc, int a) {
        int w0 = i * K_BLOCK;
        int w1 = (i + Math.min(1, nr - 1)) * K_BLOCK;
        int w2 = (i + Math.min(2, nr - 1)) * K_BLOCK;
        int w3 = (i + Math.min(3, nr - 1)) * K_BLOCK;
        int x0 = t * cols + k0;
        int x1 = (t + Math.min(1, nt - 1)) * cols + k0;
        int x2 = (t + Math.min(2, nt - 1)) * cols + k0;
        int x3 = (t + Math.min(3, nt - 1)) * cols + k0;
        FloatVector a00 = FloatVector.fromArray(F, acc, a), a01 = FloatVector.fromArray(F, acc, a + L);
        FloatVector a02 = FloatVector.fromArray(F, acc, a + 2 * L), a03 = FloatVector.fromArray(F, acc, a + 3 * L);
        FloatVector a10 = FloatVector.fromArray(F, acc, a + 4 * L), a11 = FloatVector.fromArray(F, acc, a + 5 * L);
        FloatVector a12 = FloatVector.fromArray(F, acc, a + 6 * L), a13 = FloatVector.fromArray(F, acc, a + 7 * L);
        FloatVector a20 = FloatVector.fromArray(F, acc, a + 8 * L), a21 = FloatVector.fromArray(F, acc, a + 9 * L);
        FloatVector a22 = FloatVector.fromArray(F, acc, a + 10 * L), a23 = FloatVector.fromArray(F, acc, a + 11 * L);
        FloatVector a30 = FloatVector.fromArray(F, acc, a + 12 * L), a31 = FloatVector.fromArray(F, acc, a + 13 * L);
        FloatVector a32 = FloatVector.fromArray(F, acc, a + 14 * L), a33 = FloatVector.fromArray(F, acc, a + 15 * L);
        for (int c = 0; c < kn; c += L) {
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
        a00.intoArray(acc, a);
        a01.intoArray(acc, a + L);
        a02.intoArray(acc, a + 2 * L);
        a03.intoArray(acc, a + 3 * L);
        a10.intoArray(acc, a + 4 * L);
        a11.intoArray(acc, a + 5 * L);
        a12.intoArray(acc, a + 6 * L);
        a13.intoArray(acc, a + 7 * L);
        a20.intoArray(acc, a + 8 * L);
        a21.intoArray(acc, a + 9 * L);
        a22.intoArray(acc, a + 10 * L);
        a23.intoArray(acc, a + 11 * L);
        a30.intoArray(acc, a + 12 * L);
        a31.intoArray(acc, a + 13 * L);
        a32.intoArray(acc, a + 14 * L);
        a33.intoArray(acc, a + 15 * L);
    }

    /** Columns {@code [k0, k0 + kn)} of one slab row as floats, in the permuted order, at {@code tile[to ..]}. */
    static void widen(WeightType type, WeightMatrix.Slab s, int row, int cols, int k0, int kn, float[] tile,
                              int to, float[] scales) {
        ByteBuffer d = s.data();
        switch (type) {
            case F32 -> {
                int base = (row * cols + k0) * 4;
                for (int c = 0; c < kn; c += L) {
                    VectorLoads.floats(F, d, base + 4 * c).intoArray(tile, to + c);
                }
            }
            case BF16, F16 -> widenHalf(d, (row * cols + k0) * 2, kn, tile, to, type == WeightType.F16);
            case Q8_0 -> {
                VectorKernels.blockScales(s.scales(), row, cols, k0, kn, scales);
                widenQ8(d, row * cols + k0, kn, tile, to, scales);
            }
            case Q4_0 -> {
                VectorKernels.blockScales(s.scales(), row, cols, k0, kn, scales);
                widenQ4(d, row * (cols / 2) + k0 / 2, kn, tile, to, scales);
            }
        }
    }

    private static void widenHalf(ByteBuffer d, int base, int vc, float[] tile, int to, boolean f16) {
        for (int c = 0; c < vc; c += 2 * L) {
            IntVector v = VectorLoads.ints(I, d, base + 2 * c);
            (f16 ? VectorKernels.f16(v, 0) : VectorKernels.bf16(v, 0)).intoArray(tile, to + c);
            (f16 ? VectorKernels.f16(v, 1) : VectorKernels.bf16(v, 1)).intoArray(tile, to + c + L);
        }
    }

    /** {@code sc} holds the block scales of these columns from index 0. */
    private static void widenQ8(ByteBuffer d, int base, int vc, float[] tile, int to, float[] sc) {
        for (int c = 0; c < vc; c += 4 * L) {
            IntVector v = VectorLoads.ints(I, d, base + c);
            FloatVector scale = VectorKernels.laneScales(WeightType.Q8_0, sc, c);
            VectorKernels.q8(v, 0).mul(scale).intoArray(tile, to + c);
            VectorKernels.q8(v, 1).mul(scale).intoArray(tile, to + c + L);
            VectorKernels.q8(v, 2).mul(scale).intoArray(tile, to + c + 2 * L);
            VectorKernels.q8(v, 3).mul(scale).intoArray(tile, to + c + 3 * L);
        }
    }

    private static void widenQ4(ByteBuffer d, int base, int vc, float[] tile, int to, float[] sc) {
        for (int c = 0; c < vc; c += 8 * L) {
            IntVector v = VectorLoads.ints(I, d, base + c / 2);
            FloatVector scale = VectorKernels.laneScales(WeightType.Q4_0, sc, c);
            for (int m = 0; m < 8; m++) {
                VectorKernels.q4(v, m).mul(scale).intoArray(tile, to + c + m * L);
            }
        }
    }
}
