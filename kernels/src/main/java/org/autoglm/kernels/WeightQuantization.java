package org.autoglm.kernels;

import java.util.Locale;

/**
 * Weight-only quantization of the CUDA backend's linear layers ({@code --quantize fp8|int8}): one byte per weight
 * and one fp32 scale per output channel (row), activations and arithmetic as before. Embeddings, norms and biases
 * keep their precision.
 */
public enum WeightQuantization {
    /** OCP fp8 e4m3 (±448, no infinities); the GPU converts it in hardware from sm_89 (Ada, Hopper). */
    FP8,
    /** Signed bytes, symmetric (−127..127); any GPU. */
    INT8;

    /** The smallest compute capability that runs this kind. */
    public int minComputeCapability() {
        return this == FP8 ? 89 : 0;
    }

    /** {@code fp8} or {@code int8} (any case); {@code none} gives null. */
    public static WeightQuantization parse(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "none", "" -> null;
            case "fp8" -> FP8;
            case "int8" -> INT8;
            default -> throw new IllegalArgumentException("--quantize " + name + ": the cuda backend takes fp8 or int8");
        };
    }

    public String flagName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
