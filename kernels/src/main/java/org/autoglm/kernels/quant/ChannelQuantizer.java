package org.autoglm.kernels.quant;

import org.autoglm.kernels.WeightQuantization;

/**
 * Weight-only quantization with one scale per output channel (row): {@code scale = amax(row) / 448} for fp8 (e4m3)
 * or {@code / 127} for int8, each weight stored as {@code q = round(w / scale)} (fp8: {@link E4m3#encode}, which
 * saturates at ±448; int8: to nearest even, clamped to ±127). The scale and the division are fp32, as the kernels'
 * arithmetic is. A row of zeros gets scale 1. Also the host model of what quantized.cu computes, for the tests.
 */
public final class ChannelQuantizer {

    private ChannelQuantizer() {}

    /** One matrix quantized: {@code rows × cols} bytes, row-major, and a scale per row. */
    public record Quantized(WeightQuantization kind, int rows, int cols, byte[] q, float[] scales) {
        /** The value the kernels multiply for weight (row, col): decode(q) · scale, in fp32. */
        public float value(int row, int col) {
            return decode(kind, q[row * cols + col]) * scales[row];
        }
    }

    /** Quantizes {@code w} ({@code rows × cols}, row-major). Non-finite weights are refused. */
    public static Quantized quantize(WeightQuantization kind, float[] w, int rows, int cols) {
        byte[] q = new byte[rows * cols];
        float[] scales = new float[rows];
        quantizeRows(kind, w, 0, rows, cols, q, scales, 0);
        return new Quantized(kind, rows, cols, q, scales);
    }

    /** Quantizes rows {@code [from, from + count)} of {@code w} into {@code q} and {@code scales} from row {@code at}. */
    public static void quantizeRows(WeightQuantization kind, float[] w, int from, int count, int cols, byte[] q,
            float[] scales, int at) {
        float limit = kind == WeightQuantization.FP8 ? E4m3.MAX : 127f;
        for (int r = 0; r < count; r++) {
            int base = (from + r) * cols;
            float amax = 0;
            for (int c = 0; c < cols; c++) {
                float v = w[base + c];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("weight row " + (from + r) + " holds " + v
                            + "; only finite weights can be quantized");
                }
                amax = Math.max(amax, Math.abs(v));
            }
            float scale = amax == 0 ? 1f : amax / limit;
            scales[at + r] = scale;
            int out = (at + r) * cols;
            for (int c = 0; c < cols; c++) q[out + c] = (byte) encode(kind, w[base + c] / scale);
        }
    }

    /** One weight divided by its scale, encoded. */
    public static int encode(WeightQuantization kind, float scaled) {
        if (kind == WeightQuantization.FP8) return E4m3.encode(scaled);
        return (int) Math.max(-127, Math.min(127, Math.rint(scaled))) & 0xFF;
    }

    /** A stored byte's value before scaling. */
    public static float decode(WeightQuantization kind, byte b) {
        return kind == WeightQuantization.FP8 ? E4m3.decode(b) : b;
    }

    /**
     * What quantized.cu's {@code gemv_q8} computes for one input row, bit for bit: lane l of the row's warp adds,
     * in order with fused multiply-adds (fmaf), x[k] · decode(q[o][k]) over its 16-weight chunks l, l + 32, ...,
     * the warp's 32 partial
     * sums are added by the butterfly of {@code warp_sum} (xor 16, 8, 4, 2, 1; lane 0's result), and the sum is
     * multiplied by the row's scale.
     */
    public static float[] gemvReference(Quantized m, float[] x) {
        float[] y = new float[m.rows()];
        int chunks = m.cols() / 16;
        for (int o = 0; o < m.rows(); o++) {
            float[] lane = new float[32];
            for (int l = 0; l < 32; l++) {
                float acc = 0;
                for (int c = l; c < chunks; c += 32) {
                    for (int e = 0; e < 16; e++) {
                        int k = c * 16 + e;
                        acc = Math.fma(x[k], decode(m.kind(), m.q()[o * m.cols() + k]), acc);
                    }
                }
                lane[l] = acc;
            }
            for (int off = 16; off > 0; off >>= 1) {
                float[] next = new float[32];
                for (int l = 0; l < 32; l++) next[l] = lane[l] + lane[l ^ off];
                lane = next;
            }
            y[o] = lane[0] * m.scales()[o];
        }
        return y;
    }
}
