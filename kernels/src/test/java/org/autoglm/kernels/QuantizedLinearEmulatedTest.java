package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.autoglm.kernels.emulation.HostMemory;
import org.autoglm.kernels.quant.ChannelQuantizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * quantized.cu on the host emulation through {@link GlmKernels#quantizedLinear}: gemv_q8 (up to 8 input rows) bit for
 * bit as {@link ChannelQuantizer#gemvReference} models it, dequantize_rows bit for bit as decode · scale rounded to
 * the element type, and more rows (dequantized matrix, then the GEMM) against double sums over the same values.
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class QuantizedLinearEmulatedTest {

    private final HostMemory mem = new HostMemory();

    @AfterEach
    void free() {
        mem.close();
    }

    @ParameterizedTest(name = "{0}, {1} elements, in {2}, out {3}, rows {4}")
    @CsvSource({"FP8, bf16, 64, 50, 1", "FP8, bf16, 1056, 37, 3", "FP8, fp32, 528, 20, 8", "INT8, bf16, 64, 50, 1",
            "INT8, fp32, 1056, 37, 5", "FP8, bf16, 256, 40, 12", "INT8, fp32, 128, 24, 9"})
    void matchesTheModelOfItsArithmetic(WeightQuantization kind, String elements, int in, int out, int rows) {
        boolean bf16 = elements.equals("bf16");
        GlmKernels k = EmulatedKernels.of(bf16, o -> o.quantize = kind);
        Random random = new Random(in * 31 + out + rows);
        float[] w = new float[in * out];
        for (int i = 0; i < w.length; i++) w[i] = (float) random.nextGaussian() * 0.05f;
        ChannelQuantizer.Quantized q = ChannelQuantizer.quantize(kind, w, out, in);
        float[] x = new float[rows * in];
        for (int i = 0; i < x.length; i++) x[i] = round(bf16, random.nextFloat() * 2 - 1);

        long qDev = mem.alloc((long) in * out + 4L * out);
        new com.sun.jna.Pointer(qDev).write(0, q.q(), 0, q.q().length);
        for (int o = 0; o < out; o++) HostMemory.setF(qDev + (long) in * out, o, q.scales()[o]);
        long xDev = elements(bf16, x);
        long y = mem.alloc(4L * rows * out);
        long scratch = mem.alloc((long) (bf16 ? 2 : 4) * in * out);
        k.quantizedLinear(xDev, qDev, y, rows, in, out, scratch);

        float[] got = HostMemory.floats(y, rows * out);
        for (int r = 0; r < rows; r++) {
            float[] xr = java.util.Arrays.copyOfRange(x, r * in, (r + 1) * in);
            if (rows <= GlmKernels.QUANTIZED_GEMV_MAX_ROWS) {
                float[] expected = ChannelQuantizer.gemvReference(q, xr);
                for (int o = 0; o < out; o++) {
                    assertThat(got[r * out + o]).as("row %d out %d", r, o).isEqualTo(expected[o]);
                }
            } else {
                for (int o = 0; o < out; o++) {
                    double expected = 0;
                    for (int i = 0; i < in; i++) expected += (double) xr[i] * round(bf16, q.value(o, i));
                    assertThat((double) got[r * out + o]).as("row %d out %d", r, o)
                            .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4));
                }
                for (int i = 0; i < in * out; i += 7) {   // the dequantized tile the GEMM read
                    float value = bf16 ? HostMemory.bf16(scratch, i) : HostMemory.f(scratch, i);
                    assertThat(value).isEqualTo(round(bf16, q.value(i / in, i % in)));
                }
            }
        }
    }

    private long elements(boolean bf16, float[] values) {
        long a = mem.alloc((long) (bf16 ? 2 : 4) * values.length);
        for (int i = 0; i < values.length; i++) {
            if (bf16) HostMemory.setBf16(a, i, values[i]); else HostMemory.setF(a, i, values[i]);
        }
        return a;
    }

    private static float round(boolean bf16, float v) {
        return bf16 ? HostMemory.roundBf16(v) : v;
    }
}
