package org.autoglm.kernels.quant;

/**
 * OCP fp8 e4m3 ("e4m3fn": bias 7, no infinities, ±448 at most, NaN = S.1111.111), bit for bit as CUDA's
 * {@code __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3)} and the sm_89+ {@code cvt.rn.satfinite.e4m3x2.f32}
 * encode and {@code cvt.rn.f16x2.e4m3x2} decodes: round to nearest even; finite values and infinities beyond 448
 * saturate to ±448; |x| ≤ 2^-10 becomes a signed zero; NaN becomes 0x7F whatever its sign.
 */
public final class E4m3 {

    /** The largest finite value. */
    public static final float MAX = 448f;
    /** The encoding of NaN that the encoder produces. */
    public static final int NAN = 0x7F;
    private static final int MAX_BITS = 0x7E;

    private E4m3() {}

    /** {@code x} rounded to e4m3 (the low 8 bits of the result). */
    public static int encode(float x) {
        if (Float.isNaN(x)) return NAN;
        int sign = Float.floatToRawIntBits(x) >>> 31 << 7;
        double a = Math.abs((double) x);
        if (a > MAX) {
            // beyond 448 + half an ulp saturates; between, the rounding below lands on 448 or on 480, clamped
            return sign | (a > 464 ? MAX_BITS : Math.min(MAX_BITS, bits(roundToGrid(a))));
        }
        return sign | bits(roundToGrid(a));
    }

    /** The value of an e4m3 byte (exact in fp32): NaN for 0x7F and 0xFF. */
    public static float decode(int b) {
        b &= 0xFF;
        if ((b & 0x7F) == NAN) return Float.NaN;
        int e = (b >>> 3) & 0xF, m = b & 7;
        float v = e == 0 ? m * 0x1p-9f : Math.scalb((float) (8 + m), e - 10);
        return (b & 0x80) != 0 ? -v : v;
    }

    /** |x| on e4m3's grid (subnormals from 2^-9, 3 mantissa bits), nearest, ties to even; may reach 480. */
    private static double roundToGrid(double a) {
        int exponent = Math.max(a == 0 ? -6 : Math.getExponent(a), -6);
        double quantum = Math.scalb(1.0, exponent - 3);
        return Math.rint(a / quantum) * quantum;   // exact: a power-of-two division, then an integer
    }

    /** The e4m3 bits of a non-negative value on the grid (up to 480, which the caller clamps). */
    private static int bits(double v) {
        if (v < 0x1p-6) return (int) Math.round(v * 0x1p9);   // subnormal: m * 2^-9
        int e = Math.getExponent(v);
        int m = (int) Math.round(Math.scalb(v, -e) * 8) - 8;
        return ((e + 7) << 3) | m;
    }
}
