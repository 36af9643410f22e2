package org.autoglm.kernels.cpu;

import static org.autoglm.kernels.cpu.VectorKernels.L;

/**
 * The activations of a step quantized before a quantized matmul, as llama.cpp does ({@code quantize_row_q8_0}): blocks
 * of 32 values with one float scale {@code amax / range} each, the values rounded to integers in [-range, range]. The
 * range is as wide as {@link QuantizedRowDot}'s 16-bit products allow: 255 against q8_0 weights (each product of a
 * weight byte, at most 127, fits a 16-bit lane), 511 against q4_0 (four products of a 0..15 nibble add up within one);
 * llama.cpp's 127 cost q8_0 its greedy agreement with f32 on the tiny fixtures. The values are held as shorts in the
 * order the kernel multiplies them with a weight vector's bytes or nibbles (see {@link #orderQ8}, {@link #orderQ4}),
 * so that the sum of a block is exact in integers and the float work is one multiply-add per lane of a block, not one
 * per weight. Reused across steps; grown on demand.
 */
final class QuantizedActivations {

    /** Quantized values in kernel order, {@code cols} per token. */
    short[] values = new short[0];
    /** Quantized values in natural order (tail columns that fill no whole chunk are done one by one). */
    short[] plain = new short[0];
    /** Block scales, {@code cols / 32} per token (and L to spare for a vector load). */
    float[] scales = new float[0];
    /**
     * Per block {@code 8 * scale * sum(values)}: q4_0 nibbles are multiplied unsigned (0..15) and this term takes the
     * offset of 8 back out.
     */
    float[] offsets = new float[0];

    /** The largest quantized magnitude against weights of {@code type}. */
    static int range(WeightType type) {
        return type == WeightType.Q8_0 ? 255 : 511;
    }

    /** Quantizes {@code tokens} rows of {@code cols} from {@code x} for weights of {@code type} (Q8_0 or Q4_0). */
    void quantize(WeightType type, float[] x, int tokens, int cols) {
        int blocks = cols / WeightType.BLOCK;
        if (values.length < tokens * cols) {
            values = new short[tokens * cols];
            plain = new short[tokens * cols];
            scales = new float[tokens * blocks + L];
            offsets = new float[tokens * blocks + L];
        }
        float range = range(type);
        int vc = QuantizedRowDot.vectorCols(type, cols);
        for (int t = 0; t < tokens; t++) {
            int o = t * cols;
            for (int b = 0; b < blocks; b++) {
                int s = o + b * WeightType.BLOCK;
                float amax = 0;
                for (int j = 0; j < WeightType.BLOCK; j++) {
                    amax = Math.max(amax, Math.abs(x[s + j]));
                }
                float d = amax / range;
                float id = d != 0 ? 1f / d : 0f;
                int sum = 0;
                for (int j = 0; j < WeightType.BLOCK; j++) {
                    int q = Math.round(x[s + j] * id);
                    plain[s + j] = (short) q;
                    sum += q;
                }
                scales[t * blocks + b] = d;
                offsets[t * blocks + b] = 8f * d * sum;
            }
            if (type == WeightType.Q8_0) {
                orderQ8(o, vc);
            } else {
                orderQ4(o, vc);
            }
        }
    }

    /**
     * A q8_0 chunk is one vector of 2L short lanes, each holding two weight bytes: the low (even) bytes meet
     * {@code values[c .. c + 2L)}, the high (odd) ones {@code values[c + 2L .. c + 4L)}.
     */
    private void orderQ8(int o, int vc) {
        int half = 2 * L;
        for (int c = 0; c < vc; c += 4 * L) {
            for (int j = 0; j < half; j++) {
                values[o + c + j] = plain[o + c + 2 * j];
                values[o + c + half + j] = plain[o + c + 2 * j + 1];
            }
        }
    }

    /**
     * A q4_0 chunk (128 weights for 512-bit vectors) is one vector of 2L short lanes; lane j holds bytes 2j and 2j + 1
     * of the chunk, that is bytes i = 2j mod 16 and i + 1 of block j / 8, whose four nibbles are the block's weights
     * i, i + 16, i + 1 and i + 17. Nibble m of the lanes meets {@code values[c + 2L m ..]}.
     */
    private void orderQ4(int o, int vc) {
        int half = 2 * L;
        for (int c = 0; c < vc; c += 8 * L) {
            for (int j = 0; j < half; j++) {
                int w = o + c + (j / 8) * WeightType.BLOCK + (2 * j) % 16;
                values[o + c + j] = plain[w];
                values[o + c + half + j] = plain[w + 16];
                values[o + c + 2 * half + j] = plain[w + 1];
                values[o + c + 3 * half + j] = plain[w + 17];
            }
        }
    }
}
