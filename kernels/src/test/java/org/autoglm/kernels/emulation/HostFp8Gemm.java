package org.autoglm.kernels.emulation;

import com.sun.jna.Pointer;
import org.autoglm.kernels.cuda.Fp8Gemm;
import org.autoglm.kernels.quant.E4m3;

/**
 * cuBLASLt's fp8 GEMM as the emulation runs it: the e4m3 operands decoded exactly and their products summed in
 * double, rounded once to fp32 (cuBLASLt's fp32 accumulation differs only in the order and rounding of its sums).
 * Every shape is supported, as on sm_90 for multiples of 16.
 */
final class HostFp8Gemm implements Fp8Gemm {

    private static final float[] DECODED = new float[256];

    static {
        for (int b = 0; b < 256; b++) DECODED[b] = E4m3.decode(b);
    }

    @Override
    public boolean supports(int rows, int in, int out) {
        return true;
    }

    @Override
    public void linear(long xq, long wq, long y, int rows, int in, int out) {
        byte[] x = new Pointer(xq).getByteArray(0, rows * in);
        byte[] w = new Pointer(wq).getByteArray(0, in * out);
        Pointer result = new Pointer(y);
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double sum = 0;
                for (int k = 0; k < in; k++) sum += (double) DECODED[x[r * in + k] & 0xFF] * DECODED[w[o * in + k] & 0xFF];
                result.setFloat(4L * (r * out + o), (float) sum);
            }
        }
    }

    @Override
    public void close() {}
}
