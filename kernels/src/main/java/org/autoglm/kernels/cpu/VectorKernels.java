package org.autoglm.kernels.cpu;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.autoglm.models.weights.FloatConversions;

/**
 * Matrix-times-activations over weights as stored or quantized, on the Vector API. Every type is read as int lanes
 * and widened with shifts and masks (no lane-size conversions, which the JDK 17 compiler handles poorly): a lane of
 * bf16/f16 holds two weights, of q8_0 four, of q4_0 eight. So that the k-th weight of every lane meets its activation
 * with one contiguous load, the activations are first permuted once per call ({@link #permute}); the tail columns that
 * do not fill a whole chunk stay in place and are done one by one.
 *
 * <p>Two kernels per type: one token against four rows (decode: four independent sums share each activation load),
 * and one row against four tokens (prefill and batched decode: each weight is widened once for four tokens).
 */
final class VectorKernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** Float lanes per vector. */
    static final int L = F.length();
    /** Lane l of a chunk to its block, counted from the chunk's first block: q8_0 (8 lanes a block) and q4_0 (4). */
    static final VectorShuffle<Float> Q8_LANE_BLOCK = VectorShuffle.fromOp(F, l -> l / 8);
    static final VectorShuffle<Float> Q4_LANE_BLOCK = VectorShuffle.fromOp(F, l -> l / 4);

    /** fp16 bits to float, for block scales and scalar tails. */
    private static final float[] F16 = new float[1 << 16];

    static {
        for (int i = 0; i < F16.length; i++) {
            F16[i] = FloatConversions.f16ToFloat((short) i);
        }
    }

    private VectorKernels() {}

    static float f16(short bits) {
        return F16[bits & 0xFFFF];
    }

    /** Weights per vector chunk: the columns a kernel consumes per int-vector load. */
    static int chunk(WeightType type) {
        return switch (type) {
            case F32 -> L;
            case BF16, F16 -> 2 * L;
            case Q8_0 -> 4 * L;
            case Q4_0 -> 8 * L;
        };
    }

    /** Columns handled by vector chunks; the rest are the scalar tail. */
    static int vectorCols(WeightType type, int cols) {
        int c = chunk(type);
        if (type == WeightType.Q4_0 && L < 4) return 0;
        return cols - cols % c;
    }

    /**
     * Reorders one token's activations {@code x[xOff .. xOff + cols)} into {@code xp[pOff + i * stride]} so that
     * sub-vector k of chunk c sits at {@code i = c + k * L ..}: element {@code i = c + k*L + l} is the activation of
     * the k-th weight held in lane l. Stride 1 gives a row for the dot-product kernels, {@link LaneGemm#CHUNK} a column
     * of its transposed layout.
     */
    static void permute(WeightType type, float[] x, int xOff, int cols, float[] xp, int pOff, int stride) {
        int vc = type == WeightType.F32 ? 0 : vectorCols(type, cols);
        switch (type) {
            case F32 -> { }
            case BF16, F16 -> {
                for (int c = 0; c < vc; c += 2 * L) {
                    for (int l = 0; l < L; l++) {
                        xp[pOff + (c + l) * stride] = x[xOff + c + 2 * l];
                        xp[pOff + (c + L + l) * stride] = x[xOff + c + 2 * l + 1];
                    }
                }
            }
            case Q8_0 -> {
                for (int c = 0; c < vc; c += 4 * L) {
                    for (int k = 0; k < 4; k++) {
                        for (int l = 0; l < L; l++) {
                            xp[pOff + (c + k * L + l) * stride] = x[xOff + c + 4 * l + k];
                        }
                    }
                }
            }
            case Q4_0 -> {
                for (int c = 0; c < vc; c += 8 * L) {
                    for (int m = 0; m < 8; m++) {
                        for (int l = 0; l < L; l++) {
                            xp[pOff + (c + m * L + l) * stride] =
                                    x[xOff + c + (l / 4) * 32 + 4 * (l % 4) + m / 2 + 16 * (m % 2)];
                        }
                    }
                }
            }
        }
        if (stride == 1) {
            System.arraycopy(x, xOff + vc, xp, pOff + vc, cols - vc);
        } else {
            for (int j = vc; j < cols; j++) {
                xp[pOff + j * stride] = x[xOff + j];
            }
        }
    }

    /**
     * The fp16 block scales of a quantized row as floats, {@code out[0 .. cols / 32)}; {@code out} has {@code L} floats
     * to spare so that a vector load at any block stays inside it. A scalar loop on purpose: this runs before every
     * row's dot product, and vector code here of another shape was left to C1 under load (10x slower steps).
     */
    static void blockScales(ByteBuffer scales, int row, int cols, float[] out) {
        int blocks = cols / WeightType.BLOCK;
        int base = row * blocks * 2;
        for (int b = 0; b < blocks; b++) {
            out[b] = F16[scales.getShort(base + 2 * b) & 0xFFFF];
        }
    }

    /** The block scales of columns {@code [k0, k0 + kn)} of a quantized row, {@code out[0 .. kn / 32)}; as above. */
    static void blockScales(ByteBuffer scales, int row, int cols, int k0, int kn, float[] out) {
        int base = (row * (cols / WeightType.BLOCK) + k0 / WeightType.BLOCK) * 2;
        int blocks = kn / WeightType.BLOCK;
        for (int b = 0; b < blocks; b++) {
            out[b] = F16[scales.getShort(base + 2 * b) & 0xFFFF];
        }
    }

    /**
     * The scale of each int lane of the chunk starting at weight {@code c}: lane l holds weights of block
     * {@code c / 32 + l / 8} (q8_0: four weights a lane, chunks start on a block or half a block) or {@code c / 32 + l / 4}
     * (q4_0: eight a lane).
     */
    static FloatVector laneScales(WeightType type, float[] blockScales, int c) {
        return FloatVector.fromArray(F, blockScales, c / WeightType.BLOCK)
                .rearrange(type == WeightType.Q8_0 ? Q8_LANE_BLOCK : Q4_LANE_BLOCK);
    }

    /** Weight {@code j} of a row, one at a time (tails and decoding). */
    static float weight(WeightType type, ByteBuffer data, ByteBuffer scales, int row, int cols, int j) {
        return switch (type) {
            case F32 -> data.getFloat((int) ((long) row * cols + j) * 4);
            case BF16 -> Float.intBitsToFloat(data.getShort((int) ((long) row * cols + j) * 2) << 16);
            case F16 -> F16[data.getShort((int) ((long) row * cols + j) * 2) & 0xFFFF];
            case Q8_0 -> data.get(row * cols + j) * blockScale(scales, row, cols, j);
            case Q4_0 -> {
                int inBlock = j % WeightType.BLOCK;
                int b = data.get(row * (cols / 2) + (j / WeightType.BLOCK) * 16 + inBlock % 16) & 0xFF;
                int q = inBlock < 16 ? b & 15 : b >>> 4;
                yield (q - 8) * blockScale(scales, row, cols, j);
            }
        };
    }

    private static float blockScale(ByteBuffer scales, int row, int cols, int j) {
        int blocks = cols / WeightType.BLOCK;
        return F16[scales.getShort((row * blocks + j / WeightType.BLOCK) * 2) & 0xFFFF];
    }

    /** Widens row {@code row} of a slab into {@code out[offset ..]}. */
    static void decodeRow(WeightType type, ByteBuffer data, ByteBuffer scales, int row, int cols, float[] out,
                          int offset) {
        if (type == WeightType.F32) {
            int base = row * cols * 4;
            int upper = F.loopBound(cols);
            int j = 0;
            for (; j < upper; j += L) {
                VectorLoads.floats(F, data, base + 4 * j).intoArray(out, offset + j);
            }
            for (; j < cols; j++) {
                out[offset + j] = data.getFloat(base + 4 * j);
            }
            return;
        }
        for (int j = 0; j < cols; j++) {
            out[offset + j] = weight(type, data, scales, row, cols, j);
        }
    }

    // ---- widening one int vector's sub-vector k into float weights ----

    static FloatVector bf16(IntVector v, int k) {
        return (k == 0 ? v.lanewise(VectorOperators.LSHL, 16) : v.lanewise(VectorOperators.AND, 0xFFFF0000))
                .reinterpretAsFloats();
    }

    /** fp16 halves: magnitude shifted into a float's place and rescaled by 2^112; the sign moved to bit 31. */
    static FloatVector f16(IntVector v, int k) {
        IntVector h = k == 0 ? v : v.lanewise(VectorOperators.LSHR, 16);
        IntVector magnitude = h.lanewise(VectorOperators.AND, 0x7FFF).lanewise(VectorOperators.LSHL, 13);
        IntVector sign = h.lanewise(VectorOperators.AND, 0x8000).lanewise(VectorOperators.LSHL, 16);
        FloatVector f = magnitude.reinterpretAsFloats().mul(0x1p112f);
        return f.reinterpretAsInts().lanewise(VectorOperators.OR, sign).reinterpretAsFloats();
    }

    /** Signed byte k of each lane. */
    static FloatVector q8(IntVector v, int k) {
        IntVector b = k == 3 ? v : v.lanewise(VectorOperators.LSHL, 24 - 8 * k);
        return (FloatVector) b.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
    }

    /**
     * Nibble m of each lane, less 8. No int-to-float conversion (which C2 left out of line in this loop): the nibble
     * goes into the mantissa of 2^23 and 2^23 + 8 is subtracted, exactly.
     */
    static FloatVector q4(IntVector v, int m) {
        IntVector n = (m == 0 ? v : v.lanewise(VectorOperators.LSHR, 4 * m)).lanewise(VectorOperators.AND, 15);
        return n.lanewise(VectorOperators.OR, 0x4B000000).reinterpretAsFloats().sub(8388616f);
    }
}
