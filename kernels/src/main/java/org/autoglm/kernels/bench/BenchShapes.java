package org.autoglm.kernels.bench;

import java.util.List;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.weights.RandomCheckpointWriter;

/** The model shapes {@code bench-decode --shape} knows. */
public final class BenchShapes {

    public static final List<String> NAMES = List.of("glm-edge-1.5b", "glm-4-9b");

    private BenchShapes() {}

    public static GlmConfig byName(String name) {
        return switch (name) {
            case "glm-edge-1.5b" -> RandomCheckpointWriter.glmEdge15bShape("glm");
            // THUDM glm-4-9b-chat-hf: hidden 4096, 40 layers, 32 heads, 2 KV heads, MLP 13696, vocab 151552
            case "glm-4-9b" -> new GlmConfig("glm", 151552, 4096, 13696, 40, 32, 2, 128, 0.5, 10000.0, 1.5625e-7,
                    131072, true, false, new int[] {151329, 151336, 151338}, 151329, "bfloat16");
            default -> throw new IllegalArgumentException("unknown shape '" + name + "'; known: " + NAMES);
        };
    }
}
