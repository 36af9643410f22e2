package org.autoglm.kernels.quant;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** e4m3 against its definition: every byte decoded, and the encoder against a brute-force nearest-code search. */
class E4m3Test {

    @Test
    void decodesEveryByteByTheFormatsDefinition() {
        for (int b = 0; b < 256; b++) {
            int e = (b >> 3) & 15, m = b & 7;
            double magnitude = e == 0 ? m / 8.0 * Math.pow(2, -6) : (1 + m / 8.0) * Math.pow(2, e - 7);
            float v = E4m3.decode(b);
            if ((b & 0x7F) == 0x7F) {
                assertThat(v).as("byte %x", b).isNaN();
            } else {
                assertThat((double) v).as("byte %x", b).isEqualTo((b & 0x80) != 0 ? -magnitude : magnitude);
                assertThat(E4m3.encode(v)).as("round trip of %x", b).isEqualTo(b);
            }
        }
        assertThat(E4m3.decode(0x7E)).isEqualTo(448f);
        assertThat(E4m3.decode(0x01)).isEqualTo(0x1p-9f);
    }

    @Test
    void saturatesFiniteOverflowAndInfinitiesAndCanonicalisesNan() {
        assertThat(E4m3.encode(448f)).isEqualTo(0x7E);
        assertThat(E4m3.encode(460f)).isEqualTo(0x7E);   // would round to 480 (0x7F is NaN): clamped
        assertThat(E4m3.encode(464f)).isEqualTo(0x7E);   // the tie rounds to even 448
        assertThat(E4m3.encode(465f)).isEqualTo(0x7E);
        assertThat(E4m3.encode(1e30f)).isEqualTo(0x7E);
        assertThat(E4m3.encode(Float.POSITIVE_INFINITY)).isEqualTo(0x7E);
        assertThat(E4m3.encode(Float.NEGATIVE_INFINITY)).isEqualTo(0xFE);
        assertThat(E4m3.encode(-500f)).isEqualTo(0xFE);
        assertThat(E4m3.encode(Float.NaN)).isEqualTo(0x7F);
        assertThat(E4m3.encode(Float.intBitsToFloat(0xFFC00001))).isEqualTo(0x7F);   // negative NaN too
    }

    @Test
    void roundsToNearestEvenIncludingSubnormalsAndUnderflow() {
        assertThat(E4m3.encode(1.0625f)).isEqualTo(0x38);     // between 1 (m 0) and 1.125 (m 1): even
        assertThat(E4m3.encode(1.1875f)).isEqualTo(0x3A);     // between 1.125 and 1.25 (m 2): even
        assertThat(E4m3.encode(0x1p-10f)).isEqualTo(0x00);    // half the smallest subnormal: to zero
        assertThat(E4m3.encode(Math.nextUp(0x1p-10f))).isEqualTo(0x01);
        assertThat(E4m3.encode(0x1.8p-9f)).isEqualTo(0x02);   // 1.5 x 2^-9: even subnormal
        assertThat(E4m3.encode(-0x1p-12f)).isEqualTo(0x80);   // negative underflow keeps the sign
        assertThat(E4m3.encode(-0f)).isEqualTo(0x80);
    }

    @Test
    void encodesAsTheNearestCodeWithTiesToEven() {
        Random random = new Random(11);
        for (int i = 0; i < 200_000; i++) {
            float x = (float) (random.nextGaussian() * Math.pow(2, random.nextInt(24) - 14));
            if (i % 7 == 0) x = E4m3.decode(random.nextInt(0x7F)) + E4m3.decode(random.nextInt(0x7F)) / 2;  // ties
            assertThat(E4m3.encode(x)).as("encode(%s)", x).isEqualTo(nearest(x));
        }
    }

    /** The code whose value is nearest (ties: the even code), saturating at ±448. */
    private static int nearest(float x) {
        double a = Math.min(Math.abs((double) x), 464);
        int best = 0;
        double bestDiff = Double.MAX_VALUE;
        for (int b = 0; b < 0x7F; b++) {
            double diff = Math.abs(a - E4m3.decode(b));
            if (diff < bestDiff || diff == bestDiff && (b & 1) == 0) {
                best = b;
                bestDiff = diff;
            }
        }
        if (Math.abs((double) x) > 448) best = 0x7E;
        return (Float.floatToRawIntBits(x) < 0 ? 0x80 : 0) | best;
    }
}
