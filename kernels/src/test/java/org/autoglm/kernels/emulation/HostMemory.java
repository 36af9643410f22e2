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

    public static void setInts(long address, int[] values, int count) {
        new Pointer(address).write(0, values, 0, count);
    }

    @Override
    public void close() {
        blocks.forEach(Memory::close);
        blocks.clear();
    }
}
