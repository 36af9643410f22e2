package org.autoglm.kernels.cuda;

import static org.autoglm.kernels.cuda.CuDriver.check;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.LoggerFactory;

/** The kernel sources compiled by NVRTC for this GPU and element type, launched on the device's stream. */
public final class GpuKernelRuntime implements KernelRuntime {

    /**
     * Measurement only, never for serving: kernels by name that are not launched, so that bench-decode can show what
     * one kernel costs inside the real graph step (its time there, with the overlap of dependent launch, is not what
     * --profile's events between kernels measure). The results are wrong while it is not empty.
     */
    private final Set<String> skipped;
    private final CudaDevice device;
    private final Map<String, KernelModule> modules = new HashMap<>();
    private final CublasGemm gemm;
    private Fp8Gemm fp8Gemm;
    private boolean fp8GemmTried;
    private final LaunchConfig dependentLaunch;   // null: the GPU has no programmatic dependent launch (below sm_90)
    private boolean dependent;

    public GpuKernelRuntime(CudaDevice device, KernelCompiler compiler, boolean bf16, Set<String> skipKernels) {
        this.skipped = Set.copyOf(skipKernels);
        if (!skipped.isEmpty()) {
            LoggerFactory.getLogger(GpuKernelRuntime.class).warn("--cuda-option skip-kernels leaves out {}: "
                    + "every result of this process is wrong (for measurements only)", skipped);
        }
        this.device = device;
        this.dependentLaunch = device.computeCapability() >= 90 ? new LaunchConfig(device.stream()) : null;
        int cc = device.computeCapability();
        modules.putAll(KernelSources.loadAll(KernelSources.forTarget(bf16, cc),
                source -> new KernelModule(source, compiler.compile(source, bf16, cc))));
        this.gemm = new CublasGemm(device, bf16);
    }

    @Override
    public long function(String source, String name) {
        KernelModule module = modules.get(source);
        if (module == null) throw new IllegalArgumentException(source + " is not compiled for this GPU and precision");
        return module.function(name);
    }

    @Override
    public boolean has(String source) {
        return modules.containsKey(source);
    }

    @Override
    public void allowSharedBytes(long function, int bytes) {
        check(CuDriver.cuFuncSetAttribute(function, CuDriver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                "cuFuncSetAttribute(" + bytes + " bytes of dynamic shared memory)");
    }

    @Override
    public void launch(long function, String name, int gridX, int gridY, int gridZ, int block, int sharedBytes,
            Pointer params) {
        if (!skipped.isEmpty() && skipped.contains(name)) return;
        int rc = dependent && dependentLaunch != null
                ? CuDriver.cuLaunchKernelEx(dependentLaunch.of(gridX, gridY, gridZ, block, sharedBytes), function,
                        params, Pointer.NULL)
                : CuDriver.cuLaunchKernel(function, gridX, gridY, gridZ, block, 1, 1, sharedBytes, device.stream(),
                        params, Pointer.NULL);
        if (rc != 0) {
            check(rc, "cuLaunchKernel(" + name + ", grid " + gridX + "x" + gridY + "x" + gridZ + ", block " + block
                    + ", shared " + sharedBytes + " bytes)");
        }
    }

    /**
     * The step timeline that kernels compiled with {@code AUTOGLM_TRACE} record ({@code trace_mark} in common.cuh),
     * merged over the modules (each has its own copy; a kind's entries are in one); empty when none was compiled in.
     * Measurement only.
     */
    public long[] trace() {
        device.synchronize();
        long[] merged = new long[0];
        for (KernelModule module : modules.values()) {
            long[] global = module.global("autoglm_trace");
            if (global == null) continue;
            Memory host = new Memory(global[1]);
            check(CuDriver.cuMemcpyDtoH_v2(host, global[0], global[1]), "cuMemcpyDtoH(autoglm_trace)");
            long[] values = host.getLongArray(0, (int) (global[1] / 8));
            if (merged.length == 0) merged = new long[values.length];
            for (int i = 0; i < values.length; i++) merged[i] = Math.max(merged[i], values[i]);
        }
        return merged;
    }

    @Override
    public void dependentLaunches(boolean on) {
        dependent = on;
    }

    @Override
    public int multiprocessors() {
        return device.multiprocessors();
    }

    @Override
    public Gemm gemm() {
        return gemm;
    }

    /** sm_90 only, as the fp8 kernels were measured there; elsewhere quantized prefill runs gemm_q8_tiles. */
    @Override
    public Fp8Gemm fp8Gemm() {
        if (!fp8GemmTried && device.computeCapability() == 90) {
            fp8GemmTried = true;
            try {
                fp8Gemm = new CublasLtFp8Gemm(device);
            } catch (CudaException e) {
                LoggerFactory.getLogger(GpuKernelRuntime.class).warn("cuBLASLt's fp8 GEMM is not available ({}); "
                        + "fp8 prefill GEMMs run gemm_q8_tiles", e.getMessage());
            }
        }
        return fp8Gemm;
    }

    @Override
    public void close() {
        device.makeCurrent();
        if (fp8Gemm != null) fp8Gemm.close();
        gemm.close();
        modules.values().forEach(KernelModule::close);
    }
}
