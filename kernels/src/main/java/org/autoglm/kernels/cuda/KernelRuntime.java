package org.autoglm.kernels.cuda;

import com.sun.jna.Pointer;

/**
 * Where the kernel sources run: the GPU ({@link GpuKernelRuntime}: NVRTC and the driver API) or, in tests, a host
 * emulation of the same sources. Launches are queued in order on one stream.
 */
public interface KernelRuntime extends AutoCloseable {

    /** The kernel {@code name} ({@code extern "C"}) of {@code source}, as a handle for {@link #launch}. */
    long function(String source, String name);

    /** Whether {@code source} is compiled here (see {@link KernelSources#forTarget}). */
    boolean has(String source);

    /** Lets {@code function} use up to {@code bytes} of dynamic shared memory (above 48 KiB needs opt-in). */
    void allowSharedBytes(long function, int bytes);

    /**
     * Launches {@code function} on a 1-D block of {@code block} threads; {@code params} is cuLaunchKernel's array
     * of pointers to the argument values.
     */
    void launch(long function, String name, int gridX, int gridY, int gridZ, int block, int sharedBytes,
            Pointer params);

    /**
     * Whether the launches that follow may use programmatic dependent launch (sm_90+, where the runtime has it: each
     * kernel's blocks may start, and fetch what no earlier kernel writes, before the kernel ahead of it ends). Off
     * until turned on; a no-op where the runtime has no such launch.
     */
    default void dependentLaunches(boolean on) {}

    int multiprocessors();

    Gemm gemm();

    /**
     * cuBLASLt's fp8 GEMM where this runtime has one (sm_90 with a cuBLASLt that loads), created on first call;
     * null elsewhere.
     */
    default Fp8Gemm fp8Gemm() {
        return null;
    }

    @Override
    void close();
}
