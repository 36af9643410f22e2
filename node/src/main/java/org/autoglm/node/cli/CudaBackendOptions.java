package org.autoglm.node.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.autoglm.kernels.CudaConfig;
import org.autoglm.kernels.WeightQuantization;
import picocli.CommandLine.Option;

/**
 * The CUDA backend's flags, shared by {@code serve}, {@code generate} and {@code bench-decode}: they fill one
 * {@link CudaConfig}, whose fields hold the defaults. ({@code --quantize} is shared with the CPU backend:
 * {@link CpuBackendOptions}.)
 */
final class CudaBackendOptions {

    private static final CudaConfig DEFAULTS = new CudaConfig();

    @Option(names = "--gpu-memory-utilization",
            description = "Share of GPU memory the CUDA backend may use for weights, buffers and KV cache"
                    + " (default: ${DEFAULT-VALUE}).")
    double gpuMemoryUtilization = DEFAULTS.gpuMemoryUtilization;

    @Option(names = "--cuda-option", paramLabel = "NAME=VALUE",
            description = "Tune the CUDA backend (repeatable): flash-attention, fused-decode, decode-attention,"
                    + " slice-narrow-gemvs, cuda-graphs, cublaslt-fp8, quantized-tiles, async-scheduling (true|false);"
                    + " decode-attention-warps (0 or 4..16),"
                    + " decode-key-rows-per-split, dense-attention-min-tokens (numbers); define=NAME=VALUE (a kernel"
                    + " preprocessor definition); skip-kernels=a,b (measurement only: results are wrong).")
    List<String> options = new ArrayList<>();

    /**
     * The settings for {@link org.autoglm.kernels.BackendFactory#open}, checked now: a bad value throws
     * {@link IllegalArgumentException} naming the flag.
     *
     * @param quantize {@code --quantize} as the CUDA backend reads it, or null
     */
    Consumer<CudaConfig> settings(WeightQuantization quantize) {
        if (!(gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1)) {
            throw new IllegalArgumentException("--gpu-memory-utilization must be greater than 0 and at most 1, got "
                    + gpuMemoryUtilization);
        }
        List<String> chosen = List.copyOf(options);
        double share = gpuMemoryUtilization;
        Consumer<CudaConfig> apply = cfg -> {
            cfg.gpuMemoryUtilization = share;
            cfg.quantize = quantize;
            chosen.forEach(cfg::set);
        };
        apply.accept(new CudaConfig());   // throws here for an unknown option or a bad value
        return apply;
    }
}
