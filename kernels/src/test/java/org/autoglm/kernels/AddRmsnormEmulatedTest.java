package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import java.util.Random;
import org.autoglm.kernels.emulation.HostMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * add_rmsnorm (rmsnorm.cu) on the host emulation against double precision, for several rows: the first norm of a
 * step (no add), the residual add, and glm4's post norm before the add; rows from the fixtures' 64 to the longest
 * the kernel holds (16384), and one that leaves threads without a full set of float4s (4104).
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class AddRmsnormEmulatedTest {

    private static final int ROWS = 3;
    private static final float EPS = 1e-5f;

    private final HostMemory mem = new HostMemory();

    @AfterEach
    void free() {
        mem.close();
    }

    @ParameterizedTest(name = "hidden {0}, bf16 {1}, add {2}, post norm {3}")
    @CsvSource({"64, false, false, false", "64, false, true, false", "64, true, true, true", "4104, false, true, true",
            "4104, true, false, false", "16384, true, true, true"})
    void matchesTheNormInDoublePrecision(int hidden, boolean bf16, boolean add, boolean postNorm) {
        GlmKernels k = EmulatedKernels.of(bf16, o -> { });
        int eb = bf16 ? 2 : 4;
        Random random = new Random(hidden + (bf16 ? 1 : 0) + (add ? 2 : 0) + (postNorm ? 4 : 0));
        float[] residual = gaussian(random, ROWS * hidden, 1);
        float[] x = gaussian(random, ROWS * hidden, 3);
        float[] post = new float[hidden], weight = new float[hidden];
        for (int i = 0; i < hidden; i++) {
            post[i] = round(1 + (random.nextFloat() - 0.5f) * 0.2f, bf16);
            weight[i] = round(1 + (random.nextFloat() - 0.5f) * 0.2f, bf16);
        }
        long residualDev = floats(residual), xDev = add ? floats(x) : 0;
        long postDev = postNorm ? elems(post, bf16) : 0, weightDev = elems(weight, bf16);
        long out = mem.alloc((long) eb * ROWS * hidden);
        k.addRmsnorm(xDev, postDev, residualDev, weightDev, out, ROWS, hidden, EPS);

        for (int row = 0; row < ROWS; row++) {
            int at = row * hidden;
            double[] r = new double[hidden];
            double postScale = 1 / Math.sqrt(meanSquare(x, at, hidden) + EPS);
            for (int i = 0; i < hidden; i++) {
                double delta = !add ? 0 : postNorm ? post[i] * (x[at + i] * postScale) : x[at + i];
                r[i] = residual[at + i] + delta;
            }
            double ss = 0;
            for (double v : r) ss += v * v;
            double scale = 1 / Math.sqrt(ss / hidden + EPS);
            for (int i = 0; i < hidden; i++) {
                assertThat((double) HostMemory.f(residualDev, at + i)).as("residual row %d, %d", row, i)
                        .isCloseTo(r[i], offset(1e-5 * (1 + Math.abs(r[i]))));
                double expected = weight[i] * r[i] * scale;
                double got = bf16 ? HostMemory.bf16(out, at + i) : HostMemory.f(out, at + i);
                assertThat(got).as("out row %d, %d", row, i)
                        .isCloseTo(expected, offset((bf16 ? 4e-3 : 1e-5) * (1 + Math.abs(expected))));
            }
        }
    }

    private static float[] gaussian(Random random, int n, double sigma) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian() * sigma);
        return v;
    }

    private static double meanSquare(float[] v, int from, int n) {
        double s = 0;
        for (int i = from; i < from + n; i++) s += (double) v[i] * v[i];
        return s / n;
    }

    private static float round(float v, boolean bf16) {
        return bf16 ? HostMemory.roundBf16(v) : v;
    }

    private long floats(float[] v) {
        long a = mem.alloc(4L * v.length);
        HostMemory.setFloats(a, v);
        return a;
    }

    private long elems(float[] v, boolean bf16) {
        if (!bf16) return floats(v);
        long a = mem.alloc(2L * v.length);
        for (int i = 0; i < v.length; i++) HostMemory.setBf16(a, i, v[i]);
        return a;
    }
}
