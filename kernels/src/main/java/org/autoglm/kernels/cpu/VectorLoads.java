package org.autoglm.kernels.cpu;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Every vector load of the kernels from the weights' memory-mapped buffers, little-endian, on JDK 17 and 18 and on
 * JDK 22 and later from one jar compiled for 17. JDK 19 replaced the Vector API's byte-buffer loads
 * ({@code fromByteBuffer}) with memory-segment loads (JEP 426; {@code java.lang.foreign} a preview until JDK 22). So
 * on 22+ each load goes through a constant method handle to
 * {@code fromMemorySegment(species, MemorySegment.ofBuffer(buffer), ...)}: C2 inlines it, intrinsifies the load and
 * removes the segment's allocation (0 bytes a pass measured on JDK 25). On 17 and 18 the direct call is taken;
 * {@link #SEGMENTS} is a constant, so the compiled kernels keep only one of the two paths, and the other one's call
 * site is never linked.
 *
 * <p>A buffer's segment starts at its position: the kernels' buffers are at position 0 ({@link WeightMatrix.Slab}).
 * {@link #floats} is public for the benchmarks' bandwidth reader, which must read as the kernels do on every JDK.
 */
public final class VectorLoads {

    /** Whether this JVM's Vector API loads from memory segments (JDK 22+) instead of byte buffers. */
    static final boolean SEGMENTS = Runtime.version().feature() >= 22;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final MethodHandle FLOATS = SEGMENTS ? fromSegment(FloatVector.class) : null;
    private static final MethodHandle INTS = SEGMENTS ? fromSegment(IntVector.class) : null;
    private static final MethodHandle SHORTS = SEGMENTS ? fromSegment(ShortVector.class) : null;

    private VectorLoads() {}

    public static FloatVector floats(VectorSpecies<Float> species, ByteBuffer data, int offset) {
        if (SEGMENTS) {
            try {
                return (FloatVector) FLOATS.invokeExact(species, data, (long) offset, LE);
            } catch (Throwable t) {
                throw rethrown(t);
            }
        }
        return FloatVector.fromByteBuffer(species, data, offset, LE);
    }

    static IntVector ints(VectorSpecies<Integer> species, ByteBuffer data, int offset) {
        if (SEGMENTS) {
            try {
                return (IntVector) INTS.invokeExact(species, data, (long) offset, LE);
            } catch (Throwable t) {
                throw rethrown(t);
            }
        }
        return IntVector.fromByteBuffer(species, data, offset, LE);
    }

    static ShortVector shorts(VectorSpecies<Short> species, ByteBuffer data, int offset) {
        if (SEGMENTS) {
            try {
                return (ShortVector) SHORTS.invokeExact(species, data, (long) offset, LE);
            } catch (Throwable t) {
                throw rethrown(t);
            }
        }
        return ShortVector.fromByteBuffer(species, data, offset, LE);
    }

    /** {@code (species, buffer, offset, order) -> fromMemorySegment(species, ofBuffer(buffer), offset, order)}. */
    private static MethodHandle fromSegment(Class<?> vector) {
        try {
            Class<?> segment = Class.forName("java.lang.foreign.MemorySegment");
            MethodHandles.Lookup lookup = MethodHandles.publicLookup();
            MethodHandle load = lookup.findStatic(vector, "fromMemorySegment",
                    MethodType.methodType(vector, VectorSpecies.class, segment, long.class, ByteOrder.class));
            MethodHandle ofBuffer = lookup.findStatic(segment, "ofBuffer",
                    MethodType.methodType(segment, Buffer.class));
            return MethodHandles.filterArguments(load, 1, ofBuffer)
                    .asType(MethodType.methodType(vector, VectorSpecies.class, ByteBuffer.class, long.class,
                            ByteOrder.class));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this JDK's Vector API has no memory-segment loads: " + e, e);
        }
    }

    /** A failed load (an index out of bounds) as it was thrown. */
    private static RuntimeException rethrown(Throwable t) {
        if (t instanceof RuntimeException e) throw e;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
