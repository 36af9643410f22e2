package org.autoglm.kernels.emulation;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.List;

/** "Device" memory of the host emulation: native allocations, addressed by their host addresses. */
public final class HostMemory implements AutoCloseable {

    private final List<Memory> blocks = new ArrayList<>();

    /** {@code bytes} of zeroed memory, 256-byte aligned as cuMemAlloc's. */
    public long alloc(long bytes) {
        Memory m = new Memory(Math.max(1, bytes) + 256);
        m.clear();
        blocks.add(m);
        long address = Pointer.nativeValue(m);
        return (address + 255) / 256 * 256;
    }

    public static float f(long address, long index) {
        return new Pointer(address).getFloat(4 * index);
    }

    public static void setF(long address, long index, float v) {
        new Pointer(address).setFloat(4 * index, v);
    }

    public static int i(long address, long index) {
        return new Pointer(address).getInt(4 * index);
    }

    public static void setI(long address, long index, int v) {
        new Pointer(address).setInt(4 * index, v);
    }

    public static void setFloats(long address, float[] values) {
        new Pointer(address).write(0, values, 0, values.length);
    }

    public static float[] floats(long address, int count) {
        return new Pointer(address).getFloatArray(0, count);
    }

    /** fp32 to bf16 and back, round to nearest even (as from_float in common.cuh). */
    public static float roundBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        u += 0x7fff + ((u >>> 16) & 1);
        return Float.intBitsToFloat(u & 0xffff0000);
    }

    /** Stores a bf16 value (one {@link #roundBf16} returned) as element {@code index} of a bf16 array. */
    public static void setBf16(long address, long index, float bf16Value) {
        new Pointer(address).setShort(2 * index, (short) (Float.floatToRawIntBits(bf16Value) >>> 16));
    }

    /** Element {@code index} of a bf16 array. */
    public static float bf16(long address, long index) {
        return Float.intBitsToFloat((new Pointer(address).getShort(2 * index) & 0xffff) << 16);
    }

    public static void setInts(long address, int[] values, int count) {
        new Pointer(address).write(0, values, 0, count);
    }

    @Override
    public void close() {
        blocks.forEach(Memory::close);
        blocks.clear();
    }
}
