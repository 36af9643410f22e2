package org.autoglm.kernels.cpu;

import static org.autoglm.kernels.cpu.VectorKernels.F;
import static org.autoglm.kernels.cpu.VectorKernels.I;
import static org.autoglm.kernels.cpu.VectorKernels.L;
import static org.autoglm.kernels.cpu.VectorKernels.LE;

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
                ? q8(s.data(), row * cols, vc, x.values, xo, sc)
                : q4(s.data(), row * (cols / 2), vc, x.values, xo, sc);
        for (int b = vc / WeightType.BLOCK; b < blocks; b++) {
            sum += sc[b] * tailBlock(type, s.data(), row, cols, b, x.plain, xo);
        }
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
            IntVector bits = (IntVector) ShortVector.fromByteBuffer(SCALES, scales, base + 2 * b, LE)
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

    /** Even bytes against {@code x[c ..]}, odd bytes against {@code x[c + 2L ..]}; see {@link QuantizedActivations}. */
    private static float q8(ByteBuffer d, int base, int vc, short[] x, int xo, float[] sc) {
        FloatVector acc = FloatVector.zero(F);
        int half = 2 * L;
        for (int c = 0; c < vc; c += 4 * L) {
            ShortVector w = ShortVector.fromByteBuffer(S, d, base + c, LE);
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
                    .fma(VectorKernels.laneScales(WeightType.Q8_0, sc, c), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** The four nibbles of each 16-bit lane (unsigned, 0..15) against {@code x[c + 2L m ..]}. */
    private static float q4(ByteBuffer d, int base, int vc, short[] x, int xo, float[] sc) {
        FloatVector acc = FloatVector.zero(F);
        int half = 2 * L;
        for (int c = 0; c < vc; c += 8 * L) {
            ShortVector w = ShortVector.fromByteBuffer(S, d, base + c / 2, LE);
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
                    .fma(VectorKernels.laneScales(WeightType.Q4_0, sc, c), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * The integer dot product of block {@code b} of a row with the activations' block, one weight at a time (q4_0
     * nibbles unsigned, like the vector loop: the offset is taken out for all blocks at once).
     */
    private static int tailBlock(WeightType type, ByteBuffer d, int row, int cols, int b, short[] x, int xo) {
        int sum = 0;
        int j0 = b * WeightType.BLOCK;
        for (int j = 0; j < WeightType.BLOCK; j++) {
            int q;
            if (type == WeightType.Q8_0) {
                q = d.get(row * cols + j0 + j);
            } else {
                int packed = d.get(row * (cols / 2) + b * 16 + j % 16) & 0xFF;
                q = j < 16 ? packed & 15 : packed >>> 4; // unsigned, as in the vector loop
            }
            sum += q * x[xo + j0 + j];
        }
        return sum;
    }
}
