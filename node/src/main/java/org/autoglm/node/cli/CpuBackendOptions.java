package org.autoglm.node.cli;

import org.autoglm.kernels.BackendFactory;
import org.autoglm.kernels.WeightQuantization;
import org.autoglm.kernels.cpu.CpuOptions;
import org.autoglm.kernels.cpu.WeightType;
import picocli.CommandLine.Option;

/**
 * The CPU backend's flags, shared by {@code serve} and {@code generate}; {@code --quantize} is read by whichever
 * backend runs, and each names what it accepts.
 */
final class CpuBackendOptions {

    @Option(names = "--threads", defaultValue = "0",
            description = "Compute threads of the CPU backend (and of DJL when given); 0 = one per available core"
                    + " (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--quantize", paramLabel = "q8_0|q4_0|fp8|int8",
            description = "Quantize the linear weights at load, cached beside the checkpoint (or in"
                    + " ~/.cache/autoglm when its directory is read-only) so later starts read them directly."
                    + " --backend cpu: GGML's q8_0 or q4_0 (32-weight blocks, fp16 scales); --backend cuda: fp8 (e4m3,"
                    + " sm_89+) or int8, weight-only with a scale per output channel. Default: run the weights as"
                    + " stored.")
    String quantize;

    /** The options, checked: a bad value stops the command with one line naming the flag. */
    CpuOptions toOptions() {
        return toOptions(BackendFactory.Kind.CPU);
    }

    /**
     * The CPU backend's options when {@code backend} runs: {@code --quantize} is the CPU's only for the CPU backend
     * (another backend's value is checked by {@link #cudaQuantization}).
     */
    CpuOptions toOptions(BackendFactory.Kind backend) {
        if (threads < 0) {
            throw new IllegalArgumentException("--threads must be 0 (one per core) or more, got " + threads);
        }
        WeightType type = null;
        if (quantize != null && backend == BackendFactory.Kind.CPU) {
            try {
                type = WeightType.parseQuantization(quantize);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--quantize " + quantize + ": the cpu backend takes q8_0 or q4_0");
            }
        }
        if (quantize != null && backend == BackendFactory.Kind.DJL && !quantize.isBlank()
                && !quantize.equalsIgnoreCase("none")) {
            throw new IllegalArgumentException("--quantize " + quantize + ": the djl backend runs the weights as stored;"
                    + " use --backend cpu (q8_0, q4_0) or --backend cuda (fp8, int8)");
        }
        return CpuOptions.defaults().withThreads(threads).withQuantize(type);
    }

    /** {@code --quantize} for the CUDA backend when {@code backend} is it (fp8 or int8), else null. */
    WeightQuantization cudaQuantization(BackendFactory.Kind backend) {
        return quantize == null || backend != BackendFactory.Kind.CUDA ? null : WeightQuantization.parse(quantize);
    }
}
