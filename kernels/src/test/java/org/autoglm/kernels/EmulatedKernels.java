package org.autoglm.kernels;

import java.util.function.Consumer;
import org.autoglm.kernels.emulation.HostEmulation;

/** {@link GlmKernels} on the host emulation, with every optional kernel off unless {@code choices} turns it on. */
final class EmulatedKernels {

    private EmulatedKernels() {}

    static GlmKernels of(boolean bf16, Consumer<CudaConfig> choices) {
        return of(new HostEmulation(bf16), bf16, choices);
    }

    static GlmKernels of(HostEmulation runtime, boolean bf16, Consumer<CudaConfig> choices) {
        CudaConfig options = new CudaConfig();
        options.flashAttention = false;
        options.fusedDecode = false;
        options.decodeAttention = false;
        options.sliceNarrowGemvs = false;
        choices.accept(options);
        return new GlmKernels(runtime, bf16, options);
    }
}
