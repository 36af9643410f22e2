package org.autoglm.models.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * Widening of half-precision values to fp32, and the rounding back used when writing checkpoints. Pure Java
 * because DJL's BFLOAT16 type aborts the JVM and {@code Float.float16ToFloat} needs Java 20.
 */
public final class FloatConversions {

    private FloatConversions() {}

    /** bf16 is the upper half of an fp32: widening is a shift. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Rounds to nearest even, as torch's {@code .to(torch.bfloat16)} does; NaN stays NaN. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** IEEE 754 binary16 to fp32, subnormals included. */
    public static float f16ToFloat(short half) {
        int h = half & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exp == 0) {
            if (mantissa == 0) {
                return Float.intBitsToFloat(sign);
            }
            // subnormal: value = mantissa * 2^-24
            float v = mantissa * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mantissa << 13));
    }

    /** fp32 to IEEE binary16, round to nearest even, overflow to infinity. */
    public static short floatToF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        float abs = Math.abs(value);
        if (Float.isNaN(value)) {
            return (short) (sign | 0x7e00);
        }
        if (abs >= 65520f) {
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x1p-14f) {
            // subnormal or zero: round abs / 2^-24 to an integer, ties to even
            return (short) (sign | (int) Math.rint(abs * 0x1p24f));
        }
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        int mantissa = bits & 0x7fffff;
        int half = (exp << 10) | (mantissa >>> 13);
        int rest = mantissa & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++;
        }
        return (short) (sign | half);
    }

    /**
     * Widens {@code count} elements of {@code dtype} from {@code src} (little-endian bytes from its position)
     * into {@code dst} (from its position). Both positions advance. Works in chunks so that a multi-GB tensor
     * never needs a second full-size array.
     */
    public static void widen(DType dtype, ByteBuffer src, FloatBuffer dst, int count) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (dtype == DType.F32) {
            FloatBuffer f = in.asFloatBuffer();
            f.limit(count);
            dst.put(f);
        } else {
            ShortBuffer halves = in.asShortBuffer();
            short[] chunkIn = new short[Math.min(count, CHUNK)];
            float[] chunkOut = new float[chunkIn.length];
            for (int done = 0; done < count; ) {
                int n = Math.min(chunkIn.length, count - done);
                halves.get(chunkIn, 0, n);
                if (dtype == DType.BF16) {
                    for (int i = 0; i < n; i++) {
                        chunkOut[i] = bf16ToFloat(chunkIn[i]);
                    }
                } else {
                    for (int i = 0; i < n; i++) {
                        chunkOut[i] = f16ToFloat(chunkIn[i]);
                    }
                }
                dst.put(chunkOut, 0, n);
                done += n;
            }
        }
        src.position(src.position() + count * dtype.bytes());
    }

    private static final int CHUNK = 1 << 16;
}
