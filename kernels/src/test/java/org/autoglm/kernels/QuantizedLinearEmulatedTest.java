package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.autoglm.kernels.QuantizedLinears.Path;
import org.autoglm.kernels.emulation.HostEmulation;
import org.autoglm.kernels.emulation.HostMemory;
import org.autoglm.kernels.quant.ChannelQuantizer;
import org.autoglm.kernels.quant.E4m3;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * quantized.cu and quantized_gemm.cu on the host emulation through {@link GlmKernels#quantizedLinear}, each path
 * against the model of its arithmetic: gemv_q8 (up to 8 input rows) bit for bit as
 * {@link ChannelQuantizer#gemvReference}; gemm_q8_tiles (bf16 tiles on tensor cores) against the scale times a
 * double sum of the stored values; dequantize_rows bit for bit as decode · scale rounded to the element type, then
 * the GEMM; and the fp8 GEMM path (the emulation standing in for cuBLASLt) bit for bit as e4m3 activations per row
 * times the stored weights, scaled, and within e4m3's rounding of the dequantized product. Shapes cross tile edges
 * (partial row and channel tiles) and, for the fp8 path, the scratch's row chunks.
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class QuantizedLinearEmulatedTest {

    private final HostMemory mem = new HostMemory();

    @AfterEach
    void free() {
        mem.close();
    }

    @ParameterizedTest(name = "{0}: {1}, {2} elements, in {3}, out {4}, rows {5}")
    @CsvSource({"GEMV, FP8, bf16, 64, 50, 1", "GEMV, FP8, fp32, 528, 20, 8", "GEMV, INT8, bf16, 1056, 37, 3",
            "GEMV, INT8, fp32, 64, 50, 5",
            "DEQUANTIZE, FP8, bf16, 256, 40, 12", "DEQUANTIZE, INT8, fp32, 128, 24, 9",
            "TILES, FP8, bf16, 64, 72, 70", "TILES, INT8, bf16, 96, 20, 9",
            "CUBLASLT_FP8, FP8, bf16, 64, 48, 20", "CUBLASLT_FP8, FP8, fp32, 64, 16, 60",
            "CUBLASLT_FP8, FP8, bf16, 32, 16, 40"})
    void eachPathMatchesTheModelOfItsArithmetic(Path path, WeightQuantization kind, String elements, int in,
            int out, int rows) {
        boolean bf16 = elements.equals("bf16");
        HostEmulation runtime = new HostEmulation(bf16);
        if (path == Path.CUBLASLT_FP8) runtime.withFp8Gemm();
        GlmKernels k = EmulatedKernels.of(runtime, bf16, o -> {
            o.quantize = kind;
            o.quantizedTiles = path != Path.DEQUANTIZE;
        });
        assertThat(k.quantizedPath(rows, in, out)).isEqualTo(path);
        Random random = new Random(in * 31 + out + rows);
        float[] w = new float[in * out];
        for (int i = 0; i < w.length; i++) w[i] = (float) random.nextGaussian() * 0.05f;
        ChannelQuantizer.Quantized q = ChannelQuantizer.quantize(kind, w, out, in);
        float[] x = new float[rows * in];
        for (int i = 0; i < x.length; i++) x[i] = round(bf16, random.nextFloat() * 2 - 1);
        if (path == Path.CUBLASLT_FP8) java.util.Arrays.fill(x, in, 2 * in, 0f);   // a zero row: scale 1

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
            float[] expected = switch (path) {
                case GEMV -> ChannelQuantizer.gemvReference(q, xr);
                case CUBLASLT_FP8 -> fp8Reference(q, xr);
                default -> null;
            };
            for (int o = 0; o < out; o++) {
                if (expected != null) {
                    assertThat(got[r * out + o]).as("row %d out %d", r, o).isEqualTo(expected[o]);
                }
                double exact = 0;      // x · the dequantized weights, as stored
                double magnitude = 0;
                for (int i = 0; i < in; i++) {
                    exact += (double) xr[i] * q.value(o, i);
                    magnitude += Math.abs((double) xr[i] * q.value(o, i));
                }
                // e4m3 activations: each within 2^-4 of its value; elsewhere fp32 sums (and, dequantized, bf16 weights)
                double tolerance = path == Path.CUBLASLT_FP8 ? magnitude / 16 + 1e-6
                        : path == Path.DEQUANTIZE && bf16 ? magnitude / 128 + 1e-6 : magnitude * 1e-5 + 1e-7;
                assertThat((double) got[r * out + o]).as("row %d out %d", r, o)
                        .isCloseTo(exact, Offset.offset(tolerance));
            }
        }
        if (path == Path.DEQUANTIZE) {
            for (int i = 0; i < in * out; i += 7) {   // the dequantized matrix the GEMM read
                float value = bf16 ? HostMemory.bf16(scratch, i) : HostMemory.f(scratch, i);
                assertThat(value).isEqualTo(round(bf16, q.value(i / in, i % in)));
            }
        }
    }

    /**
     * quantize_rows_e4m3, the fp8 GEMM, scale_gemm_output in fp32 as the kernels compute them: the row's e4m3 values
     * at 448 / amax, their products with the stored weights summed exactly (the emulation's GEMM), times the row's
     * scale (amax / 448) times the channel's.
     */
    private static float[] fp8Reference(ChannelQuantizer.Quantized q, float[] x) {
        float amax = 0;
        for (float v : x) amax = Math.max(amax, Math.abs(v));
        float inverse = amax > 0 ? 448f / amax : 1f;
        float rowScale = amax > 0 ? amax / 448f : 1f;
        float[] y = new float[q.rows()];
        for (int o = 0; o < q.rows(); o++) {
            double sum = 0;
            for (int i = 0; i < x.length; i++) {
                sum += (double) E4m3.decode(E4m3.encode(x[i] * inverse))
                        * ChannelQuantizer.decode(q.kind(), q.q()[o * x.length + i]);
            }
            y[o] = (float) sum * (rowScale * q.scales()[o]);
        }
        return y;
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
