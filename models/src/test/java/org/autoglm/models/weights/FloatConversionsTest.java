package org.autoglm.models.weights;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FloatConversionsTest {

    @Test
    void halfPrecisionKnownValues() {
        assertThat(FloatConversions.f16ToFloat((short) 0x3c00)).isEqualTo(1.0f);
        assertThat(FloatConversions.f16ToFloat((short) 0xc000)).isEqualTo(-2.0f);
        assertThat(FloatConversions.f16ToFloat((short) 0x7bff)).isEqualTo(65504f);
        assertThat(FloatConversions.f16ToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(FloatConversions.f16ToFloat((short) 0x7c00)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(FloatConversions.f16ToFloat((short) 0x7e00)).isNaN();
        assertThat(FloatConversions.floatToF16(1.0f)).isEqualTo((short) 0x3c00);
        assertThat(FloatConversions.floatToF16(1e6f)).isEqualTo((short) 0x7c00);
        assertThat(FloatConversions.floatToF16(0x1p-24f)).isEqualTo((short) 0x0001);
        // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties go to even (1.0)
        assertThat(FloatConversions.floatToF16(1f + 0x1p-11f)).isEqualTo((short) 0x3c00);
        assertThat(FloatConversions.floatToF16(1f + 0x1p-11f + 0x1p-20f)).isEqualTo((short) 0x3c01);
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        assertThat(FloatConversions.floatToBf16(1.0f)).isEqualTo((short) 0x3f80);
        assertThat(FloatConversions.bf16ToFloat((short) 0x3f80)).isEqualTo(1.0f);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even
        assertThat(FloatConversions.floatToBf16(1f + 0x1p-8f)).isEqualTo((short) 0x3f80);
        assertThat(FloatConversions.floatToBf16(1f + 0x1p-8f + 0x1p-20f)).isEqualTo((short) 0x3f81);
        assertThat(FloatConversions.bf16ToFloat(FloatConversions.floatToBf16(Float.NaN))).isNaN();
    }

    @Test
    void roundTripsAreWithinHalfAnUlpOfTheNarrowType() {
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 100_000; i++) {
            float x = (float) random.nextGaussian() * 10;
            float bf = FloatConversions.bf16ToFloat(FloatConversions.floatToBf16(x));
            float half = FloatConversions.f16ToFloat(FloatConversions.floatToF16(x));
            assertThat(Math.abs(bf - x)).isLessThanOrEqualTo(Math.abs(x) * 0x1p-8f);
            assertThat(Math.abs(half - x)).isLessThanOrEqualTo(Math.max(Math.abs(x) * 0x1p-11f, 0x1p-25f));
        }
    }

    @Test
    void widenConvertsBuffersAndAdvancesPositions() {
        ByteBuffer src = ByteBuffer.allocate(6 + 2 * 70_000).order(ByteOrder.LITTLE_ENDIAN);
        src.putShort((short) 0).putShort((short) 0).putShort((short) 0); // 3 elements skipped below
        for (int i = 0; i < 70_000; i++) {
            src.putShort(FloatConversions.floatToBf16(i % 100));
        }
        src.flip().position(6);
        FloatBuffer dst = FloatBuffer.allocate(70_000);

        FloatConversions.widen(DType.BF16, src, dst, 70_000);

        assertThat(src.remaining()).isZero();
        assertThat(dst.position()).isEqualTo(70_000);
        assertThat(dst.get(69_999)).isEqualTo(99f);
    }
}
