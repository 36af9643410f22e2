package org.autoglm.kernels;

import org.autoglm.kernels.plan.LaunchGeometry;
import org.autoglm.models.ModelLoadException;
import org.autoglm.models.config.GlmConfig;

/** The model shapes and options the CUDA backend's kernels support, checked before anything is allocated. */
final class SupportedModels {

    private SupportedModels() {}

    /** Throws a {@link ModelLoadException} saying what this model or GPU lacks, and what to do where we can tell. */
    static void check(GlmConfig config, CudaConfig options, int computeCapability) {
        if (config.headDim() > LaunchGeometry.MAX_HEAD_DIM
                || config.headDim() % LaunchGeometry.HEAD_DIM_MULTIPLE != 0) {
            throw new ModelLoadException("the cuda backend supports head_dim up to " + LaunchGeometry.MAX_HEAD_DIM
                    + " in multiples of " + LaunchGeometry.HEAD_DIM_MULTIPLE + "; this model has " + config.headDim());
        }
        if (config.hiddenSize() % 4 != 0 || config.hiddenSize() > LaunchGeometry.MAX_NORM_ROW) {
            throw new ModelLoadException("the cuda backend needs hidden_size in multiples of 4, at most "
                    + LaunchGeometry.MAX_NORM_ROW + " (add_rmsnorm holds a row in registers); this model has "
                    + config.hiddenSize());
        }
        if (config.intermediateSize() % 4 != 0) {   // silu_mul works four columns at a time
            throw new ModelLoadException("the cuda backend needs intermediate_size in multiples of 4; this model has "
                    + config.intermediateSize());
        }
        if (config.numHeads() % config.numKvHeads() != 0) {
            throw new ModelLoadException("num_attention_heads " + config.numHeads()
                    + " is not a multiple of num_key_value_heads " + config.numKvHeads());
        }
        if (options.quantize != null && computeCapability < options.quantize.minComputeCapability()) {
            throw new ModelLoadException("--quantize " + options.quantize.flagName() + " needs sm_"
                    + options.quantize.minComputeCapability() + " or newer (e4m3 conversion in hardware); this GPU is"
                    + " sm_" + computeCapability + ": use --quantize int8");
        }
    }
}
