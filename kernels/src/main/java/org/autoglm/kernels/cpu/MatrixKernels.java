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
 * {@code out[t, r] = W[r, :] · x[t, :]} for a range of rows of one {@link WeightMatrix} and every token of a step, the
 * inner loop of {@code nn.Linear}. Activations arrive permuted ({@link VectorKernels#permute}), one row of
 * {@code cols} per token. One token: four rows at a time. More: one row against four tokens at a time, so each
 * weight is read and widened once per four tokens.
 */
final class MatrixKernels {

    private MatrixKernels() {}

    /**
     * Rows {@code [r0, r1)} of {@code m} against {@code tokens} permuted activation rows {@code xp}; writes
     * {@code out[outOffset + t * outStride + r]}, using the calling thread's {@code scratch}.
     */
    static void multiply(WeightMatrix m, int r0, int r1, float[] xp, int tokens, float[] out, int outStride,
                         int outOffset, Scratch scratch) {
        float[] scales = scratch.scales(m.cols);
        int r = r0;
        while (r < r1) {
            int slabIndex = r / m.rowsPerSlab;
            int slabEnd = Math.min(r1, (slabIndex + 1) * m.rowsPerSlab);
            WeightMatrix.Slab slab = m.slabs[slabIndex];
            int local = r - slabIndex * m.rowsPerSlab;
            int count = slabEnd - r;
            int done = 0;
            if (tokens == 1) {
                for (; done + 4 <= count; done += 4) {
                    rows4(m.type, slab, local + done, m.cols, xp, out, outOffset + r + done, scales);
                }
            }
            for (; done < count; done++) {
                for (int t = 0; t < tokens; t += 4) {
                    tokens4(m.type, slab, local + done, m.cols, xp, t, Math.min(4, tokens - t), out,
                            outOffset + t * outStride + r + done, outStride, scales, scratch.sums);
                }
            }
            r = slabEnd;
        }
    }

    private static void rows4(WeightType type, WeightMatrix.Slab s, int row, int cols, float[] xp, float[] out,
                              int o, float[] scales) {
        switch (type) {
            case F32 -> f32Rows4(s.data(), row, cols, xp, out, o);
            case BF16 -> halfRows4(s.data(), row, cols, xp, out, o, false);
            case F16 -> halfRows4(s.data(), row, cols, xp, out, o, true);
            case Q8_0 -> q8Rows4(s, row, cols, xp, out, o, scales);
            case Q4_0 -> q4Rows4(s, row, cols, xp, out, o, scales);
        }
    }

    private static void tokens4(WeightType type, WeightMatrix.Slab s, int row, int cols, float[] xp, int t0, int nt,
                                float[] out, int o, int os, float[] scales, float[] sums) {
        int x0 = t0 * cols;
        int x1 = (t0 + Math.min(1, nt - 1)) * cols;
        int x2 = (t0 + Math.min(2, nt - 1)) * cols;
        int x3 = (t0 + Math.min(3, nt - 1)) * cols;
        switch (type) {
            case F32 -> f32Tokens4(s.data(), row, cols, xp, x0, x1, x2, x3, sums);
            case BF16 -> halfTokens4(s.data(), row, cols, xp, x0, x1, x2, x3, sums, false);
            case F16 -> halfTokens4(s.data(), row, cols, xp, x0, x1, x2, x3, sums, true);
            case Q8_0 -> q8Tokens4(s, row, cols, xp, x0, x1, x2, x3, sums, scales);
            case Q4_0 -> q4Tokens4(s, row, cols, xp, x0, x1, x2, x3, sums, scales);
        }
        int vc = VectorKernels.vectorCols(type, cols);
        for (int t = 0; t < nt; t++) {
            float tail = 0;
            int xt = (t0 + t) * cols;
            for (int j = vc; j < cols; j++) {
                tail += VectorKernels.weight(type, s.data(), s.scales(), row, cols, j) * xp[xt + j];
            }
            out[o + t * os] = sums[t] + tail;
        }
    }

    private static float tail(WeightType type, WeightMatrix.Slab s, int row, int cols, float[] xp) {
        float sum = 0;
        for (int j = VectorKernels.vectorCols(type, cols); j < cols; j++) {
            sum += VectorKernels.weight(type, s.data(), s.scales(), row, cols, j) * xp[j];
        }
        return sum;
    }

    private static void finish4(WeightType type, WeightMatrix.Slab s, int row, int cols, float[] xp, float[] out,
                                int o, FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
        out[o] = a0.reduceLanes(VectorOperators.ADD) + tail(type, s, row, cols, xp);
        out[o + 1] = a1.reduceLanes(VectorOperators.ADD) + tail(type, s, row + 1, cols, xp);
        out[o + 2] = a2.reduceLanes(VectorOperators.ADD) + tail(type, s, row + 2, cols, xp);
        out[o + 3] = a3.reduceLanes(VectorOperators.ADD) + tail(type, s, row + 3, cols, xp);
    }

    // ---- f32 ----

    private static void f32Rows4(ByteBuffer d, int row, int cols, float[] xp, float[] out, int o) {
        int vc = VectorKernels.vectorCols(WeightType.F32, cols);
        int b0 = row * cols * 4;
        int b1 = b0 + cols * 4;
        int b2 = b1 + cols * 4;
        int b3 = b2 + cols * 4;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < vc; c += L) {
            FloatVector x = FloatVector.fromArray(F, xp, c);
            a0 = FloatVector.fromByteBuffer(F, d, b0 + 4 * c, LE).fma(x, a0);
            a1 = FloatVector.fromByteBuffer(F, d, b1 + 4 * c, LE).fma(x, a1);
            a2 = FloatVector.fromByteBuffer(F, d, b2 + 4 * c, LE).fma(x, a2);
            a3 = FloatVector.fromByteBuffer(F, d, b3 + 4 * c, LE).fma(x, a3);
        }
        finish4(WeightType.F32, new WeightMatrix.Slab(d, null), row, cols, xp, out, o, a0, a1, a2, a3);
    }

    private static void f32Tokens4(ByteBuffer d, int row, int cols, float[] xp, int x0, int x1, int x2, int x3,
                                   float[] sums) {
        int vc = VectorKernels.vectorCols(WeightType.F32, cols);
        int b = row * cols * 4;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < vc; c += L) {
            FloatVector w = FloatVector.fromByteBuffer(F, d, b + 4 * c, LE);
            a0 = w.fma(FloatVector.fromArray(F, xp, x0 + c), a0);
            a1 = w.fma(FloatVector.fromArray(F, xp, x1 + c), a1);
            a2 = w.fma(FloatVector.fromArray(F, xp, x2 + c), a2);
            a3 = w.fma(FloatVector.fromArray(F, xp, x3 + c), a3);
        }
        store(sums, a0, a1, a2, a3);
    }

    // ---- bf16 and f16: two weights per int lane ----

    private static FloatVector half(IntVector v, int k, boolean f16) {
        return f16 ? VectorKernels.f16(v, k) : VectorKernels.bf16(v, k);
    }

    private static void halfRows4(ByteBuffer d, int row, int cols, float[] xp, float[] out, int o, boolean f16) {
        WeightType type = f16 ? WeightType.F16 : WeightType.BF16;
        int vc = VectorKernels.vectorCols(type, cols);
        int b0 = row * cols * 2;
        int b1 = b0 + cols * 2;
        int b2 = b1 + cols * 2;
        int b3 = b2 + cols * 2;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < vc; c += 2 * L) {
            FloatVector xl = FloatVector.fromArray(F, xp, c);
            FloatVector xh = FloatVector.fromArray(F, xp, c + L);
            IntVector v0 = IntVector.fromByteBuffer(I, d, b0 + 2 * c, LE);
            IntVector v1 = IntVector.fromByteBuffer(I, d, b1 + 2 * c, LE);
            IntVector v2 = IntVector.fromByteBuffer(I, d, b2 + 2 * c, LE);
            IntVector v3 = IntVector.fromByteBuffer(I, d, b3 + 2 * c, LE);
            a0 = half(v0, 1, f16).fma(xh, half(v0, 0, f16).fma(xl, a0));
            a1 = half(v1, 1, f16).fma(xh, half(v1, 0, f16).fma(xl, a1));
            a2 = half(v2, 1, f16).fma(xh, half(v2, 0, f16).fma(xl, a2));
            a3 = half(v3, 1, f16).fma(xh, half(v3, 0, f16).fma(xl, a3));
        }
        finish4(type, new WeightMatrix.Slab(d, null), row, cols, xp, out, o, a0, a1, a2, a3);
    }

    private static void halfTokens4(ByteBuffer d, int row, int cols, float[] xp, int x0, int x1, int x2, int x3,
                                    float[] sums, boolean f16) {
        int vc = VectorKernels.vectorCols(f16 ? WeightType.F16 : WeightType.BF16, cols);
        int b = row * cols * 2;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < vc; c += 2 * L) {
            IntVector v = IntVector.fromByteBuffer(I, d, b + 2 * c, LE);
            FloatVector wl = half(v, 0, f16);
            FloatVector wh = half(v, 1, f16);
            a0 = wh.fma(FloatVector.fromArray(F, xp, x0 + c + L), wl.fma(FloatVector.fromArray(F, xp, x0 + c), a0));
            a1 = wh.fma(FloatVector.fromArray(F, xp, x1 + c + L), wl.fma(FloatVector.fromArray(F, xp, x1 + c), a1));
            a2 = wh.fma(FloatVector.fromArray(F, xp, x2 + c + L), wl.fma(FloatVector.fromArray(F, xp, x2 + c), a2));
            a3 = wh.fma(FloatVector.fromArray(F, xp, x3 + c + L), wl.fma(FloatVector.fromArray(F, xp, x3 + c), a3));
        }
        store(sums, a0, a1, a2, a3);
    }

    // ---- q8_0: four signed bytes per int lane, a scale per 8 lanes ----

    private static FloatVector q8Dot(IntVector v, float[] xp, int c) {
        FloatVector t = VectorKernels.q8(v, 0).mul(FloatVector.fromArray(F, xp, c));
        t = VectorKernels.q8(v, 1).fma(FloatVector.fromArray(F, xp, c + L), t);
        t = VectorKernels.q8(v, 2).fma(FloatVector.fromArray(F, xp, c + 2 * L), t);
        return VectorKernels.q8(v, 3).fma(FloatVector.fromArray(F, xp, c + 3 * L), t);
    }

    private static void q8Rows4(WeightMatrix.Slab s, int row, int cols, float[] xp, float[] out, int o,
                                float[] sc) {
        ByteBuffer d = s.data();
        int vc = VectorKernels.vectorCols(WeightType.Q8_0, cols);
        int lanes = cols / 4;
        for (int r = 0; r < 4; r++) {
            VectorKernels.expandScales(WeightType.Q8_0, s.scales(), row + r, cols, sc, r * lanes);
        }
        int b0 = row * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < vc; c += 4 * L) {
            int g = c / 4;
            a0 = q8Dot(IntVector.fromByteBuffer(I, d, b0 + c, LE), xp, c)
                    .fma(FloatVector.fromArray(F, sc, g), a0);
            a1 = q8Dot(IntVector.fromByteBuffer(I, d, b0 + cols + c, LE), xp, c)
                    .fma(FloatVector.fromArray(F, sc, lanes + g), a1);
            a2 = q8Dot(IntVector.fromByteBuffer(I, d, b0 + 2 * cols + c, LE), xp, c)
                    .fma(FloatVector.fromArray(F, sc, 2 * lanes + g), a2);
            a3 = q8Dot(IntVector.fromByteBuffer(I, d, b0 + 3 * cols + c, LE), xp, c)
                    .fma(FloatVector.fromArray(F, sc, 3 * lanes + g), a3);
        }
        finish4(WeightType.Q8_0, s, row, cols, xp, out, o, a0, a1, a2, a3);
    }

    private static void q8Tokens4(WeightMatrix.Slab s, int row, int cols, float[] xp, int x0, int x1, int x2,
                                  int x3, float[] sums, float[] sc) {
        ByteBuffer d = s.data();
        int vc = VectorKernels.vectorCols(WeightType.Q8_0, cols);
        VectorKernels.expandScales(WeightType.Q8_0, s.scales(), row, cols, sc, 0);
        int b = row * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < vc; c += 4 * L) {
            IntVector v = IntVector.fromByteBuffer(I, d, b + c, LE);
            FloatVector scale = FloatVector.fromArray(F, sc, c / 4);
            for (int k = 0; k < 4; k++) {
                FloatVector w = VectorKernels.q8(v, k).mul(scale);
                int j = c + k * L;
                a0 = w.fma(FloatVector.fromArray(F, xp, x0 + j), a0);
                a1 = w.fma(FloatVector.fromArray(F, xp, x1 + j), a1);
                a2 = w.fma(FloatVector.fromArray(F, xp, x2 + j), a2);
                a3 = w.fma(FloatVector.fromArray(F, xp, x3 + j), a3);
            }
        }
        store(sums, a0, a1, a2, a3);
    }

    // ---- q4_0: eight nibbles per int lane, a scale per 4 lanes ----

    private static FloatVector q4Dot(IntVector v, float[] xp, int c) {
        FloatVector t = VectorKernels.q4(v, 0).mul(FloatVector.fromArray(F, xp, c));
        t = VectorKernels.q4(v, 1).fma(FloatVector.fromArray(F, xp, c + L), t);
        t = VectorKernels.q4(v, 2).fma(FloatVector.fromArray(F, xp, c + 2 * L), t);
        t = VectorKernels.q4(v, 3).fma(FloatVector.fromArray(F, xp, c + 3 * L), t);
        t = VectorKernels.q4(v, 4).fma(FloatVector.fromArray(F, xp, c + 4 * L), t);
        t = VectorKernels.q4(v, 5).fma(FloatVector.fromArray(F, xp, c + 5 * L), t);
        t = VectorKernels.q4(v, 6).fma(FloatVector.fromArray(F, xp, c + 6 * L), t);
        return VectorKernels.q4(v, 7).fma(FloatVector.fromArray(F, xp, c + 7 * L), t);
    }

    private static void q4Rows4(WeightMatrix.Slab s, int row, int cols, float[] xp, float[] out, int o,
                                float[] sc) {
        ByteBuffer d = s.data();
        int vc = VectorKernels.vectorCols(WeightType.Q4_0, cols);
        int lanes = cols / 8;
        for (int r = 0; r < 4; r++) {
            VectorKernels.expandScales(WeightType.Q4_0, s.scales(), row + r, cols, sc, r * lanes);
        }
        int rowBytes = cols / 2;
        int b0 = row * rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < vc; c += 8 * L) {
            int g = c / 8;
            int byteOffset = c / 2;
            a0 = q4Dot(IntVector.fromByteBuffer(I, d, b0 + byteOffset, LE), xp, c)
                    .fma(FloatVector.fromArray(F, sc, g), a0);
            a1 = q4Dot(IntVector.fromByteBuffer(I, d, b0 + rowBytes + byteOffset, LE), xp, c)
                    .fma(FloatVector.fromArray(F, sc, lanes + g), a1);
            a2 = q4Dot(IntVector.fromByteBuffer(I, d, b0 + 2 * rowBytes + byteOffset, LE), xp, c)
                    .fma(FloatVector.fromArray(F, sc, 2 * lanes + g), a2);
            a3 = q4Dot(IntVector.fromByteBuffer(I, d, b0 + 3 * rowBytes + byteOffset, LE), xp, c)
                    .fma(FloatVector.fromArray(F, sc, 3 * lanes + g), a3);
        }
        finish4(WeightType.Q4_0, s, row, cols, xp, out, o, a0, a1, a2, a3);
    }

    private static void q4Tokens4(WeightMatrix.Slab s, int row, int cols, float[] xp, int x0, int x1, int x2,
                                  int x3, float[] sums, float[] sc) {
        ByteBuffer d = s.data();
        int vc = VectorKernels.vectorCols(WeightType.Q4_0, cols);
        VectorKernels.expandScales(WeightType.Q4_0, s.scales(), row, cols, sc, 0);
        int b = row * (cols / 2);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < vc; c += 8 * L) {
            IntVector v = IntVector.fromByteBuffer(I, d, b + c / 2, LE);
            FloatVector scale = FloatVector.fromArray(F, sc, c / 8);
            for (int m = 0; m < 8; m++) {
                FloatVector w = VectorKernels.q4(v, m).mul(scale);
                int j = c + m * L;
                a0 = w.fma(FloatVector.fromArray(F, xp, x0 + j), a0);
                a1 = w.fma(FloatVector.fromArray(F, xp, x1 + j), a1);
                a2 = w.fma(FloatVector.fromArray(F, xp, x2 + j), a2);
                a3 = w.fma(FloatVector.fromArray(F, xp, x3 + j), a3);
            }
        }
        store(sums, a0, a1, a2, a3);
    }

    private static void store(float[] sums, FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
        sums[0] = a0.reduceLanes(VectorOperators.ADD);
        sums[1] = a1.reduceLanes(VectorOperators.ADD);
        sums[2] = a2.reduceLanes(VectorOperators.ADD);
        sums[3] = a3.reduceLanes(VectorOperators.ADD);
    }
}
