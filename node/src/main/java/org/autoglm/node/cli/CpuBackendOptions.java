package org.autoglm.node.cli;

import org.autoglm.kernels.cpu.CpuOptions;
import org.autoglm.kernels.cpu.WeightType;
import picocli.CommandLine.Option;

/** The CPU backend's flags, shared by {@code serve} and {@code generate}. */
final class CpuBackendOptions {

    @Option(names = "--threads", defaultValue = "0",
            description = "Compute threads of the CPU backend (and of DJL when given); 0 = one per available core"
                    + " (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--quantize", paramLabel = "q8_0|q4_0",
            description = "CPU backend: quantize the linear weights at load to GGML's q8_0 or q4_0 (32-weight blocks,"
                    + " fp16 scales), cached beside the checkpoint (or in ~/.cache/autoglm/cpu when its directory is"
                    + " read-only) so later starts map them directly. Default: run the weights as stored.")
    String quantize;

    /** The options, checked: a bad value stops the command with one line naming the flag. */
    CpuOptions toOptions() {
        if (threads < 0) {
            throw new IllegalArgumentException("--threads must be 0 (one per core) or more, got " + threads);
        }
        WeightType type = quantize == null ? null : WeightType.parseQuantization(quantize);
        return CpuOptions.defaults().withThreads(threads).withQuantize(type);
    }
}
