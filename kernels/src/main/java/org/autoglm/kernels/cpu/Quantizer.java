package org.autoglm.kernels.cpu;

import java.nio.ByteBuffer;
import org.autoglm.models.weights.FloatConversions;

/**
 * GGML's reference quantizers ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref} in {@code ggml-quants.c}),
 * one row at a time: quants into one buffer, fp16 block scales into another.
 */
final class Quantizer {

    private Quantizer() {}

    /** Quantizes {@code rows[offset .. offset + cols)} to {@code type}, appending to {@code quants} and {@code scales}. */
    static void quantizeRow(WeightType type, float[] rows, int offset, int cols, ByteBuffer quants, ByteBuffer scales) {
        for (int b = offset; b < offset + cols; b += WeightType.BLOCK) {
            if (type == WeightType.Q8_0) {
                q8Block(rows, b, quants, scales);
            } else {
                q4Block(rows, b, quants, scales);
            }
        }
    }

    /** amax = max |x|; d = amax / 127; q = round(x / d). */
    private static void q8Block(float[] x, int o, ByteBuffer quants, ByteBuffer scales) {
        float amax = 0;
        for (int j = 0; j < WeightType.BLOCK; j++) {
            amax = Math.max(amax, Math.abs(x[o + j]));
        }
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        scales.putShort(FloatConversions.floatToF16(d));
        for (int j = 0; j < WeightType.BLOCK; j++) {
            quants.put((byte) roundHalfAway(x[o + j] * id));
        }
    }

    /** max = the value of largest magnitude; d = max / -8; q = min(15, (int) (x / d + 8.5)); low nibbles first. */
    private static void q4Block(float[] x, int o, ByteBuffer quants, ByteBuffer scales) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < WeightType.BLOCK; j++) {
            float v = x[o + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0 ? 1f / d : 0f;
        scales.putShort(FloatConversions.floatToF16(d));
        for (int j = 0; j < WeightType.BLOCK / 2; j++) {
            int q0 = Math.min(15, (int) (byte) (int) (x[o + j] * id + 8.5f));
            int q1 = Math.min(15, (int) (byte) (int) (x[o + j + 16] * id + 8.5f));
            quants.put((byte) (q0 | (q1 << 4)));
        }
    }

    /** C's {@code roundf}: halves away from zero. */
    private static int roundHalfAway(float v) {
        return (int) (v < 0 ? -Math.floor(-v + 0.5f) : Math.floor(v + 0.5f));
    }
}
