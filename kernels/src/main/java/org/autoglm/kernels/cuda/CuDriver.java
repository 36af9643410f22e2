package org.autoglm.kernels.cuda;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * The CUDA driver API ({@code libcuda}), bound with JNA direct mapping (the launch path is hot). Handles and
 * device pointers are passed as {@code long}; out-parameters as one-element arrays. Only symbols that both
 * CUDA 12 and CUDA 13 drivers export are bound. Call {@link #load()} first.
 */
public final class CuDriver {

    public static final int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8;
    public static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public static final int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    public static final int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    public static final int CU_STREAM_NON_BLOCKING = 1;
    public static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
    public static final int CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;

    private static boolean loaded;

    private CuDriver() {}

    /** Binds libcuda; a {@link CudaException} saying what is missing when there is no driver. */
    public static synchronized void load() {
        if (!loaded) {
            try {
                Native.register(CuDriver.class, CudaLibraries.load("cuda"));
            } catch (UnsatisfiedLinkError e) {
                throw new CudaException("the CUDA driver (libcuda) lacks a function we need: " + e.getMessage()
                        + ". Update the NVIDIA driver (CUDA 12 or newer).");
            }
            loaded = true;
        }
    }

    /** Throws a {@link CudaException} naming {@code call} and the driver's error when {@code result != 0}. */
    public static void check(int result, String call) {
        if (result != 0) {
            long[] name = new long[1];
            long[] text = new long[1];
            String n = cuGetErrorName(result, name) == 0 && name[0] != 0 ? new Pointer(name[0]).getString(0) : "?";
            String t = cuGetErrorString(result, text) == 0 && text[0] != 0 ? new Pointer(text[0]).getString(0) : "";
            throw new CudaException(call + " failed: " + n + " (" + result + ") " + t, result);
        }
    }

    public static native int cuInit(int flags);
    public static native int cuDriverGetVersion(int[] version);
    public static native int cuGetErrorName(int error, long[] name);
    public static native int cuGetErrorString(int error, long[] text);

    public static native int cuDeviceGetCount(int[] count);
    public static native int cuDeviceGet(int[] device, int ordinal);
    public static native int cuDeviceGetName(byte[] name, int length, int device);
    public static native int cuDeviceGetAttribute(int[] value, int attribute, int device);
    public static native int cuDeviceTotalMem_v2(long[] bytes, int device);

    public static native int cuDevicePrimaryCtxRetain(long[] context, int device);
    public static native int cuDevicePrimaryCtxRelease_v2(int device);
    public static native int cuCtxSetCurrent(long context);
    public static native int cuCtxSynchronize();

    public static native int cuMemGetInfo_v2(long[] free, long[] total);
    public static native int cuMemAlloc_v2(long[] devicePointer, long bytes);
    public static native int cuMemFree_v2(long devicePointer);
    public static native int cuMemAllocHost_v2(long[] hostPointer, long bytes);
    public static native int cuMemFreeHost(long hostPointer);
    public static native int cuMemcpyHtoD_v2(long dst, Pointer src, long bytes);
    public static native int cuMemcpyDtoH_v2(Pointer dst, long src, long bytes);
    public static native int cuMemcpyHtoDAsync_v2(long dst, Pointer src, long bytes, long stream);
    public static native int cuMemcpyDtoHAsync_v2(Pointer dst, long src, long bytes, long stream);
    public static native int cuMemcpyDtoDAsync_v2(long dst, long src, long bytes, long stream);
    public static native int cuMemsetD8Async(long dst, byte value, long count, long stream);

    public static native int cuModuleLoadData(long[] module, Pointer image);
    public static native int cuModuleGetFunction(long[] function, long module, String name);
    public static native int cuModuleUnload(long module);
    public static native int cuModuleGetGlobal_v2(long[] devicePointer, long[] bytes, long module, String name);
    public static native int cuFuncSetAttribute(long function, int attribute, int value);
    public static native int cuLaunchKernel(long function, int gridX, int gridY, int gridZ, int blockX, int blockY,
            int blockZ, int sharedMemBytes, long stream, Pointer kernelParams, Pointer extra);

    public static native int cuEventCreate(long[] event, int flags);
    public static native int cuEventRecord(long event, long stream);
    public static native int cuEventElapsedTime(float[] milliseconds, long start, long end);
    public static native int cuEventDestroy_v2(long event);
    public static native int cuEventSynchronize(long event);

    /** {@code config}: a CUlaunchConfig (see {@link LaunchConfig}). */
    public static native int cuLaunchKernelEx(Pointer config, long function, Pointer kernelParams, Pointer extra);

    public static native int cuStreamCreate(long[] stream, int flags);
    public static native int cuStreamSynchronize(long stream);
    public static native int cuStreamDestroy_v2(long stream);
    public static native int cuStreamBeginCapture_v2(long stream, int mode);
    public static native int cuStreamEndCapture(long stream, long[] graph);
    public static native int cuGraphInstantiateWithFlags(long[] graphExec, long graph, long flags);
    public static native int cuGraphLaunch(long graphExec, long stream);
    public static native int cuGraphExecDestroy(long graphExec);
    public static native int cuGraphDestroy(long graph);
}
