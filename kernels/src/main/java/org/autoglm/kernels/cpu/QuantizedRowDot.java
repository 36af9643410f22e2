package org.autoglm.kernels.cpu;

import static org.autoglm.kernels.cpu.VectorKernels.F;
import static org.autoglm.kernels.cpu.VectorKernels.I;
import static org.autoglm.kernels.cpu.VectorKernels.L;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * One q8_0 or q4_0 weight row against one token's {@link QuantizedActivations}: llama.cpp's {@code ggml_vec_dot_q8_0_q8_0}
 * and {@code ggml_vec_dot_q4_0_q8_0} on the Vector API. A weight vector is read as 16-bit lanes; its bytes (or nibbles)
 * are split out with shifts and multiplied with the activations as 16-bit products, the products of a 32-bit lane are
 * added as integers, and the lane's sum is converted and scaled once: one float multiply-add per four (q8_0) or eight
 * (q4_0) weights, where widening every weight to a float cost one per weight. The block scales of a row are combined
 * with the activations' in vector code too (fp16 widened lane by lane): done one by one they took a third of the time.
 */
final class QuantizedRowDot {

    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    /** L fp16 block scales: half a vector, widened to L int lanes. */
    private static final VectorSpecies<Short> SCALES =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));

    private QuantizedRowDot() {}

    /** Columns handled by vector chunks (4L weights for q8_0, 8L for q4_0); the rest are the scalar tail. */
    static int vectorCols(WeightType type, int cols) {
        int chunk = type == WeightType.Q8_0 ? 4 * L : 8 * L;
        if (type == WeightType.Q4_0 && L < 4) return 0;
        return cols - cols % chunk;
    }

    /**
     * {@code W[row, :] · x[token]} for a row of {@code slab}; {@code sc} is scratch of {@code cols / 32 + L} floats.
     */
    static float dot(WeightType type, WeightMatrix.Slab s, int row, int cols, QuantizedActivations x, int token,
                     float[] sc) {
        int blocks = cols / WeightType.BLOCK;
        int xb = token * blocks;
        int xo = token * cols;
        float offset = combinedScales(type, s.scales(), row, blocks, x, xb, sc);
        int vc = vectorCols(type, cols);
        float sum = type == WeightType.Q8_0
                ? q8(s.data(), row * cols, vc, cols, x, xo, sc)
                : q4(s.data(), row * (cols / 2), vc, cols, x, xo, sc);
        return sum - offset;
    }

    /**
     * {@code sc[b] = weight scale * activation scale} for every block of the row; returns the q4_0 offset term
     * {@code sum_b weight scale * 8 * activation scale * sum(activations)} (0 for q8_0).
     */
    private static float combinedScales(WeightType type, ByteBuffer scales, int row, int blocks, QuantizedActivations x,
                                        int xb, float[] sc) {
        int base = row * blocks * 2;
        float[] xs = x.scales;
        float[] xoff = x.offsets;
        boolean q4 = type == WeightType.Q4_0;
        FloatVector offsets = FloatVector.zero(F);
        int b = 0;
        for (; b + L <= blocks; b += L) {
            IntVector bits = (IntVector) VectorLoads.shorts(SCALES, scales, base + 2 * b)
                    .convertShape(VectorOperators.S2I, I, 0);
            FloatVector ws = VectorKernels.f16(bits, 0);
            ws.mul(FloatVector.fromArray(F, xs, xb + b)).intoArray(sc, b);
            if (q4) {
                offsets = ws.fma(FloatVector.fromArray(F, xoff, xb + b), offsets);
            }
        }
        float offset = q4 ? offsets.reduceLanes(VectorOperators.ADD) : 0;
        for (; b < blocks; b++) {
            float ws = VectorKernels.f16(scales.getShort(base + 2 * b));
            sc[b] = ws * xs[xb + b];
            offset += q4 ? ws * xoff[xb + b] : 0;
        }
        return offset;
    }

    /**
     * Even bytes against {@code x[c ..]}, odd bytes against {@code x[c + 2L ..]} (see {@link QuantizedActivations}),
     * then the tail blocks one weight at a time. Both kernels are written out in one method each, with no helper calls,
     * and their bytecode stays above C2's FreqInlineSize (325): each is then compiled on its own, never inlined into the
     * forward pass's lambda. Inlined there (or with a helper for the lane scales), the compilation passed C2's node
     * budget (NodeCountInliningCutoff), the shuffle of the lane scales was left out of line and every vector was boxed:
     * q4_0 decode allocated ~30 times as much (851 young collections in 24 tokens, against 29) at half the speed, the
     * "erratic JIT" of earlier runs.
     */
    private static float q8(ByteBuffer d, int base, int vc, int cols, QuantizedActivations xq, int xo, float[] sc) {
        short[] x = xq.values;
        FloatVector acc = FloatVector.zero(F);
        int half = 2 * L;
        for (int c = 0; c < vc; c += 4 * L) {
            ShortVector w = VectorLoads.shorts(S, d, base + c);
            ShortVector even = w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8);
            ShortVector odd = w.lanewise(VectorOperators.ASHR, 8);
            IntVector pe = even.mul(ShortVector.fromArray(S, x, xo + c)).reinterpretAsInts();
            IntVector po = odd.mul(ShortVector.fromArray(S, x, xo + c + half)).reinterpretAsInts();
            // each product fits 16 bits (|w| <= 127, |x| <= 255), a sum of two would not: both halves of both
            // sign-extended and added as ints (written out here: a helper call C2 may leave out of line boxes vectors)
            IntVector sum = pe.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(po.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .add(pe.lanewise(VectorOperators.ASHR, 16))
                    .add(po.lanewise(VectorOperators.ASHR, 16));
            acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, sc, c / WeightType.BLOCK).rearrange(VectorKernels.Q8_LANE_BLOCK), acc);
        }
        float total = acc.reduceLanes(VectorOperators.ADD);
        short[] plain = xq.plain;
        for (int b = vc / WeightType.BLOCK; b < cols / WeightType.BLOCK; b++) {
            int block = 0;
            for (int j = b * WeightType.BLOCK; j < (b + 1) * WeightType.BLOCK; j++) {
                block += d.get(base + j) * plain[xo + j];
            }
            total += sc[b] * block;
        }
        return total;
    }

    /**
     * The four nibbles of each 16-bit lane (unsigned, 0..15) against {@code x[c + 2L m ..]}, then the tail blocks one
     * weight at a time (unsigned as well: the offset is taken out for all blocks at once); see {@link #q8}.
     */
    private static float q4(ByteBuffer d, int base, int vc, int cols, QuantizedActivations xq, int xo, float[] sc) {
        short[] x = xq.values;
        FloatVector acc = FloatVector.zero(F);
        int half = 2 * L;
        for (int c = 0; c < vc; c += 8 * L) {
            ShortVector w = VectorLoads.shorts(S, d, base + c / 2);
            ShortVector n0 = w.lanewise(VectorOperators.AND, (short) 15);
            ShortVector n1 = w.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, (short) 15);
            ShortVector n2 = w.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, (short) 15);
            ShortVector n3 = w.lanewise(VectorOperators.LSHR, 12);
            ShortVector p = n0.mul(ShortVector.fromArray(S, x, xo + c))
                    .add(n1.mul(ShortVector.fromArray(S, x, xo + c + half)))
                    .add(n2.mul(ShortVector.fromArray(S, x, xo + c + 2 * half)))
                    .add(n3.mul(ShortVector.fromArray(S, x, xo + c + 3 * half)));
            IntVector i = p.reinterpretAsInts(); // the two 16-bit halves of each lane, sign-extended and added
            IntVector sum = i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(i.lanewise(VectorOperators.ASHR, 16));
            acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, sc, c / WeightType.BLOCK).rearrange(VectorKernels.Q4_LANE_BLOCK), acc);
        }
        float total = acc.reduceLanes(VectorOperators.ADD);
        short[] plain = xq.plain;
        for (int b = vc / WeightType.BLOCK; b < cols / WeightType.BLOCK; b++) {
            int block = 0;
            for (int j = 0; j < WeightType.BLOCK / 2; j++) {
                int packed = d.get(base + b * 16 + j) & 0xFF;
                block += (packed & 15) * plain[xo + b * WeightType.BLOCK + j]
                        + (packed >>> 4) * plain[xo + b * WeightType.BLOCK + j + 16];
            }
            total += sc[b] * block;
        }
        return total;
    }
}
