package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.autoglm.kernels.emulation.HostEmulation;
import org.autoglm.kernels.emulation.HostMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * gemv.cu's batch-1 linear layers (bf16) on the host emulation, through {@link GlmKernels#linear} and
 * {@link GlmKernels#siluMulLinear} with the GEMV on: against double-precision sums over the same bf16 values.
 * Shapes leave partial unrolled rounds, lanes without chunks and blocks with rows past the end; with narrow GEMVs
 * sliced, 2 or 4 warps share each row pair of the shapes with at most 2112 rows (the emulation has 132 SMs).
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class GemvEmulatedTest {

    private final HostMemory mem = new HostMemory();

    @AfterEach
    void free() {
        mem.close();
    }

    @ParameterizedTest(name = "in {0}, out {1}, sliced {2}")
    @CsvSource({"64, 50, false", "2048, 40, false", "13696, 37, false", "64, 4501, false",   // 4501: more row pairs
            "64, 50, true", "2048, 40, true", "13696, 37, true", "264, 2000, true"})        // than the grid has warps
    void linearAndSiluMulLinearMatchExactSums(int in, int out, boolean sliced) {
        GlmKernels k = EmulatedKernels.of(true, o -> {
            o.fusedDecode = true;
            o.sliceNarrowGemvs = sliced;
        });
        Random random = new Random(in + out);
        float[] w = new float[in * out];
        for (int i = 0; i < w.length; i++) w[i] = bf16((random.nextFloat() - 0.5f) * 0.1f);
        float[] x = new float[in];
        for (int i = 0; i < in; i++) x[i] = bf16(random.nextFloat() * 2 - 1);
        float[] gateUp = new float[2 * in];
        for (int i = 0; i < gateUp.length; i++) gateUp[i] = (float) random.nextGaussian() * 2;

        long wDev = bf16Array(w), xDev = bf16Array(x);
        long gateUpDev = mem.alloc(4L * gateUp.length);
        HostMemory.setFloats(gateUpDev, gateUp);
        long y = mem.alloc(4L * out), y2 = mem.alloc(4L * out), act = mem.alloc(2L * in);
        k.linear(xDev, wDev, y, 1, in, out);
        k.siluMulLinear(gateUpDev, act, wDev, y2, 1, in, out);

        float[] a = new float[in];
        for (int i = 0; i < in; i++) {
            float g = gateUp[i], u = gateUp[in + i];
            a[i] = bf16(u * (g / (1f + (float) Math.exp(-g))));
        }
        float[] got = HostMemory.floats(y, out), gotSilu = HostMemory.floats(y2, out);
        for (int o = 0; o < out; o++) {
            double expected = 0, expectedSilu = 0;
            for (int i = 0; i < in; i++) {
                expected += (double) w[o * in + i] * x[i];
                expectedSilu += (double) w[o * in + i] * a[i];
            }
            assertThat((double) got[o]).as("linear row %d", o).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-3));
            assertThat((double) gotSilu[o]).as("silu-mul linear row %d", o)
                    .isCloseTo(expectedSilu, org.assertj.core.data.Offset.offset(2e-3 * Math.max(1, Math.abs(expectedSilu))));
        }
    }

    @ParameterizedTest(name = "hidden {0}, post norm {1}")
    @CsvSource({"64, false", "64, true", "4096, true", "4104, false", "4104, true"})   // above 4096: the streamed staging
    void rmsnormLinearAddsTheResidualNormalisesAndProjectsAsAddRmsnormThenLinear(int hidden, boolean postNorm) {
        GlmKernels k = EmulatedKernels.of(true, o -> o.fusedDecode = true);
        int out = 24;
        float eps = 1e-5f;
        Random random = new Random(hidden * 3 + (postNorm ? 1 : 0));
        float[] residual = new float[hidden], delta = new float[hidden], post = new float[hidden];
        float[] weight = new float[hidden], w = new float[hidden * out];
        for (int i = 0; i < hidden; i++) {
            residual[i] = (float) random.nextGaussian();
            delta[i] = (float) random.nextGaussian() * 3;
            post[i] = bf16(1 + (random.nextFloat() - 0.5f) * 0.2f);
            weight[i] = bf16(1 + (random.nextFloat() - 0.5f) * 0.2f);
        }
        for (int i = 0; i < w.length; i++) w[i] = bf16((random.nextFloat() - 0.5f) * 0.1f);
        long residualDev = mem.alloc(4L * hidden), deltaDev = mem.alloc(4L * hidden);
        HostMemory.setFloats(residualDev, residual);
        HostMemory.setFloats(deltaDev, delta);
        long residualOut = mem.alloc(4L * hidden), normed = mem.alloc(2L * hidden), y = mem.alloc(4L * out);
        k.rmsnormLinear(new ForwardKernels.AddNorm(residualDev, deltaDev, postNorm ? bf16Array(post) : 0, residualOut,
                bf16Array(weight), normed, eps), bf16Array(w), y, hidden, out);

        // residual + [post-norm](delta), then the norm, in double precision
        double[] r = new double[hidden];
        double postScale = 1 / Math.sqrt(meanSquare(delta) + eps);
        for (int i = 0; i < hidden; i++) r[i] = residual[i] + (postNorm ? post[i] * delta[i] * postScale : delta[i]);
        double scale = 1 / Math.sqrt(meanSquare(r) + eps);
        float[] gotResidual = HostMemory.floats(residualOut, hidden);
        double[] x = new double[hidden];
        for (int i = 0; i < hidden; i++) {
            x[i] = weight[i] * r[i] * scale;
            assertThat((double) gotResidual[i]).as("residual %d", i).isCloseTo(r[i], org.assertj.core.data.Offset.offset(1e-4));
            double gotNormed = HostMemory.bf16(normed, i);
            assertThat(gotNormed).as("normed %d", i).isCloseTo(x[i], org.assertj.core.data.Offset.offset(0.01 * Math.abs(x[i]) + 1e-3));
        }
        float[] got = HostMemory.floats(y, out);
        for (int o = 0; o < out; o++) {
            double expected = 0;
            for (int i = 0; i < hidden; i++) expected += w[o * hidden + i] * x[i];
            // x is rounded to bf16 before the product: ~2^-9 relative per term, mostly cancelling
            assertThat((double) got[o]).as("row %d", o).isCloseTo(expected, org.assertj.core.data.Offset.offset(0.02));
        }
    }

    @ParameterizedTest(name = "hidden {0}, intermediate {1}, sliced {2}")
    @CsvSource({"64, 40, false", "2048, 6144, false", "64, 6, true", "4104, 100, true"})
    void gateUpWithSiluInItsEpilogueGivesTheValuesOfTheProjectionThenSiluMul(int hidden, int inter, boolean sliced) {
        GlmKernels k = EmulatedKernels.of(true, o -> {
            o.fusedDecode = true;
            o.sliceNarrowGemvs = sliced;
        });
        Random random = new Random(hidden + 31L * inter);
        float[] residual = new float[hidden], delta = new float[hidden], weight = new float[hidden];
        float[] w = new float[2 * inter * hidden];
        for (int i = 0; i < hidden; i++) {
            residual[i] = (float) random.nextGaussian();
            delta[i] = (float) random.nextGaussian();
            weight[i] = bf16(1 + (random.nextFloat() - 0.5f) * 0.2f);
        }
        for (int i = 0; i < w.length; i++) w[i] = bf16((random.nextFloat() - 0.5f) * 0.2f);
        long residualDev = mem.alloc(4L * hidden), deltaDev = mem.alloc(4L * hidden);
        HostMemory.setFloats(residualDev, residual);
        HostMemory.setFloats(deltaDev, delta);
        long weightDev = bf16Array(weight), wDev = bf16Array(w);
        long residualOut = mem.alloc(4L * hidden), normed = mem.alloc(2L * hidden);
        ForwardKernels.AddNorm norm = new ForwardKernels.AddNorm(residualDev, deltaDev, 0, residualOut, weightDev,
                normed, 1e-5f);

        // the two-launch path: gate_up in fp32, then silu_mul rounding to bf16
        long gateUp = mem.alloc(8L * inter), twoLaunches = mem.alloc(2L * inter);
        k.rmsnormLinear(norm, wDev, gateUp, hidden, 2 * inter);
        k.siluMul(gateUp, twoLaunches, 1, inter);
        long fused = mem.alloc(2L * inter);
        k.rmsnormGateUpSiluMul(norm, wDev, fused, hidden, inter);

        float[] g = HostMemory.floats(gateUp, 2 * inter);
        for (int p = 0; p < inter; p++) {
            assertThat(HostMemory.bf16(fused, p)).as("act %d", p).isEqualTo(HostMemory.bf16(twoLaunches, p));
            double gate = g[p], up = g[inter + p];   // and it is up * silu(gate), not something both paths share
            assertThat((double) HostMemory.bf16(fused, p)).as("act %d against its definition", p)
                    .isCloseTo(up * gate / (1 + Math.exp(-gate)), org.assertj.core.data.Offset.offset(
                            0.005 * Math.abs(up * gate) + 1e-6));
        }
    }

    private static double meanSquare(float[] v) {
        double s = 0;
        for (float f : v) s += (double) f * f;
        return s / v.length;
    }

    private static double meanSquare(double[] v) {
        double s = 0;
        for (double d : v) s += d * d;
        return s / v.length;
    }

    @Test
    void withoutGemvCuBatchOneStepsRunOnTheGemm() {
        // As on a GPU whose NVRTC refused gemv.cu: KernelSources.loadAll leaves it out and the node goes on
        GlmKernels kernels = EmulatedKernels.of(new HostEmulation(true).without("gemv.cu"), true,
                o -> o.fusedDecode = true);
        assertThat(kernels.hasFusedDecode()).isFalse();
        assertThat(kernels.supportsSingleToken(64, 128, 64)).isFalse();

        int in = 64, out = 50;
        Random random = new Random(7);
        float[] w = new float[in * out];
        for (int i = 0; i < w.length; i++) w[i] = bf16((random.nextFloat() - 0.5f) * 0.1f);
        float[] x = new float[in];
        for (int i = 0; i < in; i++) x[i] = bf16(random.nextFloat() * 2 - 1);
        long y = mem.alloc(4L * out);
        kernels.linear(bf16Array(x), bf16Array(w), y, 1, in, out);
        float[] got = HostMemory.floats(y, out);
        for (int o = 0; o < out; o++) {
            double expected = 0;
            for (int i = 0; i < in; i++) expected += (double) w[o * in + i] * x[i];
            assertThat((double) got[o]).as("row %d", o).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-3));
        }
    }

    private long bf16Array(float[] values) {
        long a = mem.alloc(2L * values.length);
        for (int i = 0; i < values.length; i++) HostMemory.setBf16(a, i, values[i]);
        return a;
    }

    private static float bf16(float f) {
        return HostMemory.roundBf16(f);
    }
}
