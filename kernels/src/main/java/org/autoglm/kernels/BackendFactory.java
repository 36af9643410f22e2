package org.autoglm.kernels;

import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;
import org.autoglm.kernels.cpu.CpuBackend;
import org.autoglm.kernels.cpu.CpuOptions;
import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.djl.DjlBackend;

/**
 * Opens the backend a user asked for with {@code --backend cuda|cpu|djl|auto}: {@code auto} takes CUDA when the driver
 * loads and sees a GPU, else our own CPU backend (the Vector API; faster than DJL on every measured shape, see
 * README), else DJL when the JVM lacks the Vector API module. The CLI's {@code generate} and {@code serve} call
 * {@link #open}.
 */
public final class BackendFactory {

    /** A resource of DJL's PyTorch CPU natives jar; absent from autoglm-node-cuda.jar. */
    static final String CPU_NATIVES_MARKER = "native/lib/pytorch.properties";

    public enum Kind {
        CUDA,
        CPU,
        DJL,
        AUTO;

        /** Parses {@code cuda}, {@code cpu}, {@code djl} or {@code auto} (any case); the error lists the choices. */
        public static Kind parse(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown backend '" + name + "': use cuda, cpu, djl or auto");
            }
        }
    }

    private BackendFactory() {}

    /** {@code AUTO} resolved against this machine: CUDA when a GPU is usable, else CPU (DJL without the Vector API). */
    public static Kind resolve(Kind kind) {
        if (kind != Kind.AUTO) return kind;
        if (CudaDevice.probe() > 0) return Kind.CUDA;
        return CpuBackend.unusableReason() == null ? Kind.CPU : Kind.DJL;
    }

    /** Opens {@code modelDir} on the chosen backend; {@code cuda} configures the CUDA backend when it is used. */
    public static Backend open(Kind kind, Path modelDir, Consumer<CudaConfig> cuda) {
        return open(kind, modelDir, cuda, CpuOptions.defaults());
    }

    /** As above, with the CPU backend's options ({@code --threads}, {@code --quantize}) for when it is used. */
    public static Backend open(Kind kind, Path modelDir, Consumer<CudaConfig> cuda, CpuOptions cpu) {
        return switch (resolve(kind)) {
            case CUDA -> CudaBackend.open(modelDir, cuda);
            case CPU -> CpuBackend.load(modelDir, cpu);
            case DJL -> {
                requireCpuNatives();
                yield DjlBackend.load(modelDir, cpu.threads() > 0
                        ? DjlBackend.Options.defaults().withThreads(cpu.threads()) : DjlBackend.Options.defaults());
            }
            case AUTO -> throw new AssertionError("resolved above");
        };
    }

    /** Whether this build carries DJL's PyTorch CPU natives (the default jar does, the -Pcuda jar does not). */
    public static boolean cpuNativesPresent() {
        return BackendFactory.class.getClassLoader().getResource(CPU_NATIVES_MARKER) != null;
    }

    static void requireCpuNatives() {
        if (!cpuNativesPresent()) {
            throw new IllegalStateException("--backend djl needs DJL's PyTorch CPU natives, which are not in this"
                    + " build (the -Pcuda jar leaves them out for GPU hosts): use --backend cuda on a GPU host, --backend"
                    + " cpu (our own CPU backend, in every jar), or autoglm-node.jar for DJL");
        }
    }
}
