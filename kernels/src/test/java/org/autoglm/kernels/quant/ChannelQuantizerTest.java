package org.autoglm.kernels.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.autoglm.kernels.WeightQuantization;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ChannelQuantizerTest {

    @ParameterizedTest
    @EnumSource(WeightQuantization.class)
    void eachRowGetsItsOwnScaleAndItsLargestWeightTheLargestCode(WeightQuantization kind) {
        int rows = 5, cols = 64;
        Random random = new Random(3);
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            float magnitude = (float) Math.pow(10, r - 3);   // rows of very different sizes
            for (int c = 0; c < cols; c++) w[r * cols + c] = (float) random.nextGaussian() * magnitude;
        }
        for (int c = 0; c < cols; c++) w[4 * cols + c] = 0;   // a row of zeros
        ChannelQuantizer.Quantized q = ChannelQuantizer.quantize(kind, w, rows, cols);
        float limit = kind == WeightQuantization.FP8 ? 448f : 127f;
        double relative = kind == WeightQuantization.FP8 ? 1.0 / 16 : 0.5 / 127;   // half a step of the grid
        for (int r = 0; r < 4; r++) {
            float amax = 0;
            for (int c = 0; c < cols; c++) amax = Math.max(amax, Math.abs(w[r * cols + c]));
            assertThat(q.scales()[r]).isEqualTo(amax / limit);
            float largest = 0;
            for (int c = 0; c < cols; c++) {
                largest = Math.max(largest, Math.abs(ChannelQuantizer.decode(kind, q.q()[r * cols + c])));
                double err = Math.abs(q.value(r, c) - w[r * cols + c]);
                double bound = kind == WeightQuantization.FP8
                        ? Math.max(relative * Math.abs(w[r * cols + c]), 0x1p-10 * q.scales()[r]) * 1.0001
                        : relative * amax * 1.0001;
                assertThat(err).as("row %d col %d", r, c).isLessThanOrEqualTo(bound);
            }
            assertThat(largest).isEqualTo(limit);
        }
        assertThat(q.scales()[4]).isEqualTo(1f);
        for (int c = 0; c < cols; c++) assertThat(q.q()[4 * cols + c]).isZero();
    }

    @ParameterizedTest
    @EnumSource(WeightQuantization.class)
    void refusesNonFiniteWeights(WeightQuantization kind) {
        float[] w = {1, 2, Float.NaN, 4};
        assertThatThrownBy(() -> ChannelQuantizer.quantize(kind, w, 2, 2)).hasMessageContaining("weight row 1");
    }
}
