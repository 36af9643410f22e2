package org.autoglm.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.autoglm.models.weights.FloatConversions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every weight type's kernels (a row per token, two rows by eight tokens, the tiled 4x4 GEMM, the GEMM with tokens in
 * the lanes, the scalar tails) give the same sums as a plain loop over the widened weights, for widths with and without
 * a tail, odd row counts and row counts across a tile and its register blocks, and token counts around the groups of
 * four and eight and around the lane kernel's vectors and chunks.
 */
class MatrixKernelsTest {

    @ParameterizedTest
    @EnumSource(WeightType.class)
    void kernelsMatchAPlainDotProductOfTheWidenedWeights(WeightType type) {
        SplittableRandom random = new SplittableRandom(7);
        for (int cols : new int[] {64, 96, 128, 160, 256, 544}) {
            if (!type.quantized() && cols == 544) cols = 545;
            int rows = TileGemm.TILE_ROWS + 11;
            WeightMatrix m = matrix(type, rows, cols, random);
            for (int tokens : new int[] {1, 3, 4, 5, 8, 9, 31, 32, 33, 50, 64, 65, 130}) {
                float[] x = new float[tokens * cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                float[] xp = new float[MatrixKernels.activationsLength(tokens, cols)];
                java.util.Arrays.fill(xp, Float.NaN); // padding the kernels read must be written by prepare
                if (MatrixKernels.quantizedActivations(type, tokens)) {
                    // quantized weights' float row kernels (RowDot); against int8 activations: the next test
                    for (int t = 0; t < tokens; t++) VectorKernels.permute(type, x, t * cols, cols, xp, t * cols, 1);
                } else {
                    assertThat(MatrixKernels.prepare(type, x, tokens, cols, xp, null)).isNull();
                }
                int stride = rows + 3;
                float[] out = new float[tokens * stride + 2];
                MatrixKernels.multiply(m, 0, rows, xp, tokens, out, stride, 2, new Scratch());
                float[] row = new float[cols];
                for (int r = 0; r < rows; r++) {
                    m.decodeRow(r, row, 0);
                    for (int t = 0; t < tokens; t++) {
                        double expected = 0;
                        for (int j = 0; j < cols; j++) expected += (double) row[j] * x[t * cols + j];
                        assertThat(out[2 + t * stride + r]).as("%s cols %d tokens %d row %d token %d", type, cols,
                                tokens, r, t).isCloseTo((float) expected, within(2e-4f * (float) Math.sqrt(cols)));
                    }
                }
            }
        }
    }

    /**
     * Row by row against int8 activations: exactly the integer block sums of the quantized weights and activations,
     * scaled (so every lane, nibble and tail lines up), and within the activations' rounding of the float result.
     */
    @ParameterizedTest
    @EnumSource(value = WeightType.class, names = {"Q8_0", "Q4_0"})
    void int8ActivationsGiveTheIntegerBlockSums(WeightType type) {
        SplittableRandom random = new SplittableRandom(11);
        for (int cols : new int[] {32, 64, 96, 128, 160, 256, 544}) {
            int rows = 9;
            WeightMatrix m = matrix(type, rows, cols, random);
            for (int tokens : new int[] {1, 3}) {
                float[] x = new float[tokens * cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                QuantizedActivations xq = new QuantizedActivations();
                xq.quantize(type, x, tokens, cols);
                int stride = rows + 1;
                float[] out = new float[tokens * stride + 1];
                MatrixKernels.multiply(m, 0, rows, null, xq, tokens, out, stride, 1, new Scratch());
                float[] row = new float[cols];
                for (int r = 0; r < rows; r++) {
                    m.decodeRow(r, row, 0);
                    for (int t = 0; t < tokens; t++) {
                        double exact = 0;
                        double quantized = 0;
                        double rounding = 0;
                        for (int j = 0; j < cols; j++) {
                            float scale = xq.scales[t * (cols / 32) + j / 32];
                            exact += (double) row[j] * x[t * cols + j];
                            quantized += (double) row[j] * xq.plain[t * cols + j] * scale;
                            rounding += Math.abs(row[j]) * scale / 2;
                        }
                        String what = String.format("%s cols %d tokens %d row %d token %d", type, cols, tokens, r, t);
                        assertThat(out[1 + t * stride + r]).as(what)
                                .isCloseTo((float) quantized, within(2e-4f * (float) Math.sqrt(cols)));
                        assertThat((double) out[1 + t * stride + r]).as(what)
                                .isCloseTo(exact, within(rounding + 1e-3));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightType.class, names = {"Q8_0", "Q4_0"})
    void quantizedRowsStayCloseToTheirSource(WeightType type) {
        SplittableRandom random = new SplittableRandom(3);
        int cols = 256;
        float[] source = new float[cols];
        for (int j = 0; j < cols; j++) source[j] = (float) random.nextGaussian();
        ByteBuffer quants = ByteBuffer.allocate((int) type.quantBytes(cols)).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer scales = ByteBuffer.allocate((int) type.scaleBytes(cols)).order(ByteOrder.LITTLE_ENDIAN);
        Quantizer.quantizeRow(type, source, 0, cols, quants, scales);
        WeightMatrix m = new WeightMatrix(type, 1, cols, 1,
                new WeightMatrix.Slab[] {new WeightMatrix.Slab(quants.flip(), scales.flip())});
        float[] back = new float[cols];
        m.decodeRow(0, back, 0);
        // the largest error is half a quantization step: amax/127/2 for q8_0, amax/8/2 for q4_0
        float step = type == WeightType.Q8_0 ? 4.5f / 127 : 4.5f / 8;
        for (int j = 0; j < cols; j++) {
            assertThat(back[j]).isCloseTo(source[j], within(step));
        }
    }

    /** A random matrix of {@code type}, quantized with {@link Quantizer} for q8_0 / q4_0. */
    static WeightMatrix matrix(WeightType type, int rows, int cols, SplittableRandom random) {
        ByteBuffer data = ByteBuffer.allocate((int) (rows * type.quantBytes(cols))).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer scales = type.quantized()
                ? ByteBuffer.allocate((int) (rows * type.scaleBytes(cols))).order(ByteOrder.LITTLE_ENDIAN) : null;
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) row[j] = (float) random.nextGaussian() * 0.5f;
            switch (type) {
                case F32 -> { for (float v : row) data.putFloat(v); }
                case BF16 -> { for (float v : row) data.putShort(FloatConversions.floatToBf16(v)); }
                case F16 -> { for (float v : row) data.putShort(FloatConversions.floatToF16(v)); }
                default -> Quantizer.quantizeRow(type, row, 0, cols, data, scales);
            }
        }
        return new WeightMatrix(type, rows, cols, rows, new WeightMatrix.Slab[] {
                new WeightMatrix.Slab(data.flip(), scales == null ? null : scales.flip())});
    }
}
