package org.autoglm.kernels.cuda;

import static org.autoglm.kernels.cuda.CuDriver.check;

import com.sun.jna.Pointer;
import java.util.HashMap;
import java.util.Map;

/** The kernel sources compiled by NVRTC for this GPU and element type, launched on the device's stream. */
public final class GpuKernelRuntime implements KernelRuntime {

    private final CudaDevice device;
    private final Map<String, KernelModule> modules = new HashMap<>();
    private final CublasGemm gemm;
    private final LaunchConfig dependentLaunch;   // null: the GPU has no programmatic dependent launch (below sm_90)
    private boolean dependent;

    public GpuKernelRuntime(CudaDevice device, KernelCompiler compiler, boolean bf16) {
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

    @Override
    public void dependentLaunches(boolean on) {
        dependent = on;
    }

    @Override
    public int multiprocessors() {
        return device.multiprocessors();
    }

    @Override
    public int l2Bytes() {
        return device.l2Bytes();
    }

    @Override
    public Gemm gemm() {
        return gemm;
    }

    @Override
    public void close() {
        device.makeCurrent();
        gemm.close();
        modules.values().forEach(KernelModule::close);
    }
}
