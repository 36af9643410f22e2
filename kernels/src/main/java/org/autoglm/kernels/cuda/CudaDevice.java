package org.autoglm.kernels.cuda;

import static org.autoglm.kernels.cuda.CuDriver.check;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One GPU with its primary context and one non-blocking stream that all our work runs on. Owns every device
 * allocation made through it and frees them on {@link #close()}. Not thread-safe: one engine loop uses it,
 * and {@link #makeCurrent()} binds the context to the calling thread.
 */
public final class CudaDevice implements AutoCloseable {

    private final int ordinal;
    private final int device;
    private final long context;
    private final long stream;
    private final String name;
    private final int ccMajor;
    private final int ccMinor;
    private final int multiprocessors;
    private final int maxSharedOptin;
    private final List<DeviceBuffer> buffers = new ArrayList<>();
    private boolean closed;

    private CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        int[] out = new int[1];
        check(CuDriver.cuDeviceGet(out, ordinal), "cuDeviceGet(" + ordinal + ")");
        this.device = out[0];
        byte[] nameBytes = new byte[256];
        check(CuDriver.cuDeviceGetName(nameBytes, nameBytes.length, device), "cuDeviceGetName");
        this.name = cString(nameBytes);
        this.ccMajor = attribute(CuDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        this.ccMinor = attribute(CuDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        this.multiprocessors = attribute(CuDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        this.maxSharedOptin = attribute(CuDriver.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        long[] ctx = new long[1];
        check(CuDriver.cuDevicePrimaryCtxRetain(ctx, device), "cuDevicePrimaryCtxRetain");
        this.context = ctx[0];
        check(CuDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        long[] s = new long[1];
        check(CuDriver.cuStreamCreate(s, CuDriver.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        this.stream = s[0];
    }

    /** Initialises the driver and opens GPU {@code ordinal}. */
    public static CudaDevice open(int ordinal) {
        CuDriver.load();
        check(CuDriver.cuInit(0), "cuInit");
        int count = deviceCount();
        if (ordinal >= count) {
            throw new CudaException("GPU " + ordinal + " requested but the driver sees " + count + " GPU(s)");
        }
        return new CudaDevice(ordinal);
    }

    /** GPUs the driver sees; 0 when libcuda is missing or cannot initialise (no exception). */
    public static int probe() {
        try {
            CuDriver.load();
            if (CuDriver.cuInit(0) != 0) return 0;
            return deviceCount();
        } catch (CudaException | UnsatisfiedLinkError e) {
            return 0;
        }
    }

    private static int deviceCount() {
        int[] n = new int[1];
        check(CuDriver.cuDeviceGetCount(n), "cuDeviceGetCount");
        return n[0];
    }

    private int attribute(int attribute) {
        int[] v = new int[1];
        check(CuDriver.cuDeviceGetAttribute(v, attribute, device), "cuDeviceGetAttribute(" + attribute + ")");
        return v[0];
    }

    public void makeCurrent() {
        check(CuDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    public String name() {
        return name;
    }

    /** Compute capability as an integer, e.g. 90 for sm_90. */
    public int computeCapability() {
        return ccMajor * 10 + ccMinor;
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    public int maxSharedMemoryOptin() {
        return maxSharedOptin;
    }

    public long stream() {
        return stream;
    }

    /** {free, total} device memory in bytes. */
    public long[] memoryInfo() {
        long[] free = new long[1];
        long[] total = new long[1];
        check(CuDriver.cuMemGetInfo_v2(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    /** Allocates {@code bytes} of device memory (at least 1), freed by {@link DeviceBuffer#close()} or this device's close. */
    public DeviceBuffer allocate(long bytes, String what) {
        long[] ptr = new long[1];
        int rc = CuDriver.cuMemAlloc_v2(ptr, Math.max(1, bytes));
        if (rc == CudaException.OUT_OF_MEMORY) {
            long[] info = memoryInfo();
            throw new CudaException(String.format("out of GPU memory allocating %s (%.2f GiB): %.2f of %.2f GiB free",
                    what, gib(bytes), gib(info[0]), gib(info[1])), rc);
        }
        check(rc, "cuMemAlloc(" + what + ", " + bytes + " bytes)");
        DeviceBuffer buffer = new DeviceBuffer(this, ptr[0], bytes);
        buffers.add(buffer);
        return buffer;
    }

    void release(DeviceBuffer buffer) {
        if (buffers.remove(buffer) && !closed) {
            check(CuDriver.cuMemFree_v2(buffer.address()), "cuMemFree");
        }
    }

    /** Page-locked host memory (for asynchronous copies); freed with {@link #freeHost(Pointer)}. */
    public Pointer allocateHost(long bytes) {
        long[] ptr = new long[1];
        check(CuDriver.cuMemAllocHost_v2(ptr, Math.max(1, bytes)), "cuMemAllocHost(" + bytes + ")");
        return new Pointer(ptr[0]);
    }

    public void freeHost(Pointer host) {
        check(CuDriver.cuMemFreeHost(Pointer.nativeValue(host)), "cuMemFreeHost");
    }

    /** Synchronous copy of a direct (e.g. memory-mapped) buffer's remaining bytes to {@code dst}. */
    public void copyToDevice(long dst, ByteBuffer src) {
        if (!src.isDirect()) throw new IllegalArgumentException("copyToDevice needs a direct buffer");
        Pointer p = com.sun.jna.Native.getDirectBufferPointer(src).share(src.position());
        check(CuDriver.cuMemcpyHtoD_v2(dst, p, src.remaining()), "cuMemcpyHtoD");
    }

    public void copyToDevice(long dst, int[] src) {
        Memory m = new Memory(4L * src.length);
        m.write(0, src, 0, src.length);
        check(CuDriver.cuMemcpyHtoD_v2(dst, m, m.size()), "cuMemcpyHtoD");
    }

    public void copyToDevice(long dst, float[] src) {
        Memory m = new Memory(4L * src.length);
        m.write(0, src, 0, src.length);
        check(CuDriver.cuMemcpyHtoD_v2(dst, m, m.size()), "cuMemcpyHtoD");
    }

    /** Waits for the stream, then copies {@code count} floats from the device. */
    public float[] copyFloats(long src, int count) {
        synchronize();
        Memory m = new Memory(4L * Math.max(1, count));
        check(CuDriver.cuMemcpyDtoH_v2(m, src, 4L * count), "cuMemcpyDtoH");
        return m.getFloatArray(0, count);
    }

    public void synchronize() {
        check(CuDriver.cuStreamSynchronize(stream), "cuStreamSynchronize (an earlier kernel failed)");
    }

    @Override
    public void close() {
        if (closed) return;
        try {
            makeCurrent();
            CuDriver.cuStreamSynchronize(stream);
            for (DeviceBuffer b : List.copyOf(buffers)) {
                CuDriver.cuMemFree_v2(b.address());
            }
            buffers.clear();
            CuDriver.cuStreamDestroy_v2(stream);
        } finally {
            closed = true;
            CuDriver.cuDevicePrimaryCtxRelease_v2(device);
        }
    }

    @Override
    public String toString() {
        return name + " (sm_" + computeCapability() + ", " + multiprocessors + " SMs, GPU " + ordinal + ")";
    }

    static double gib(long bytes) {
        return bytes / (1024.0 * 1024 * 1024);
    }

    private static String cString(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) n++;
        return new String(bytes, 0, n, java.nio.charset.StandardCharsets.UTF_8);
    }
}
