package org.autoglm.kernels.cpu;

import static org.autoglm.kernels.cpu.VectorKernels.F;
import static org.autoglm.kernels.cpu.VectorKernels.I;
import static org.autoglm.kernels.cpu.VectorKernels.L;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * One weight row against one token's permuted activations: the decode kernel. Each method is one small loop on
 * purpose: C2 stops inlining a method once its graph passes a fixed node count (NodeCountInliningCutoff, not settable
 * in product JVMs), and a Vector API call left out of line boxes its vectors, which made four-row q8_0 kernels ten
 * times slower than bf16. One row per call keeps every loop well inside the budget; the activations stay in L1.
 */
final class RowDot {

    private RowDot() {}

    /** {@code W[row, :] · xp[x .. x + cols)} for a row of {@code slab}; {@code scales} is scratch of {@code cols / 32 + L} floats. */
    static float dot(WeightType type, WeightMatrix.Slab s, int row, int cols, float[] xp, int x, float[] scales) {
        int vc = VectorKernels.vectorCols(type, cols);
        float sum = switch (type) {
            case F32 -> f32(s.data(), row * cols * 4, vc, xp, x);
            case BF16 -> half(s.data(), row * cols * 2, vc, xp, x, false);
            case F16 -> half(s.data(), row * cols * 2, vc, xp, x, true);
            case Q8_0 -> {
                VectorKernels.blockScales(s.scales(), row, cols, scales);
                yield q8(s.data(), row * cols, vc, xp, x, scales);
            }
            case Q4_0 -> {
                VectorKernels.blockScales(s.scales(), row, cols, scales);
                yield q4(s.data(), row * (cols / 2), vc, xp, x, scales);
            }
        };
        for (int j = vc; j < cols; j++) {
            sum += VectorKernels.weight(type, s.data(), s.scales(), row, cols, j) * xp[x + j];
        }
        return sum;
    }

    private static float f32(ByteBuffer d, int base, int vc, float[] xp, int x) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        int c = 0;
        for (; c + 2 * L <= vc; c += 2 * L) {
            a0 = VectorLoads.floats(F, d, base + 4 * c).fma(FloatVector.fromArray(F, xp, x + c), a0);
            a1 = VectorLoads.floats(F, d, base + 4 * (c + L))
                    .fma(FloatVector.fromArray(F, xp, x + c + L), a1);
        }
        for (; c < vc; c += L) {
            a0 = VectorLoads.floats(F, d, base + 4 * c).fma(FloatVector.fromArray(F, xp, x + c), a0);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    private static float half(ByteBuffer d, int base, int vc, float[] xp, int x, boolean f16) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        for (int c = 0; c < vc; c += 2 * L) {
            IntVector v = VectorLoads.ints(I, d, base + 2 * c);
            FloatVector lo = f16 ? VectorKernels.f16(v, 0) : VectorKernels.bf16(v, 0);
            FloatVector hi = f16 ? VectorKernels.f16(v, 1) : VectorKernels.bf16(v, 1);
            a0 = lo.fma(FloatVector.fromArray(F, xp, x + c), a0);
            a1 = hi.fma(FloatVector.fromArray(F, xp, x + c + L), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** Four signed bytes per int lane: the integer-valued products of a chunk summed, then scaled once per chunk. */
    private static float q8(ByteBuffer d, int base, int vc, float[] xp, int x, float[] sc) {
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < vc; c += 4 * L) {
            IntVector v = VectorLoads.ints(I, d, base + c);
            FloatVector t = VectorKernels.q8(v, 0).mul(FloatVector.fromArray(F, xp, x + c));
            t = VectorKernels.q8(v, 1).fma(FloatVector.fromArray(F, xp, x + c + L), t);
            t = VectorKernels.q8(v, 2).fma(FloatVector.fromArray(F, xp, x + c + 2 * L), t);
            t = VectorKernels.q8(v, 3).fma(FloatVector.fromArray(F, xp, x + c + 3 * L), t);
            acc = t.fma(VectorKernels.laneScales(WeightType.Q8_0, sc, c), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Eight nibbles per int lane, as {@link #q8}. */
    private static float q4(ByteBuffer d, int base, int vc, float[] xp, int x, float[] sc) {
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < vc; c += 8 * L) {
            IntVector v = VectorLoads.ints(I, d, base + c / 2);
            FloatVector t = VectorKernels.q4(v, 0).mul(FloatVector.fromArray(F, xp, x + c));
            for (int m = 1; m < 8; m++) {
                t = VectorKernels.q4(v, m).fma(FloatVector.fromArray(F, xp, x + c + m * L), t);
            }
            acc = t.fma(VectorKernels.laneScales(WeightType.Q4_0, sc, c), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
