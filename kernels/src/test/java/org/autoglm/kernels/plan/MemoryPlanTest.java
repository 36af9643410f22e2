package org.autoglm.kernels.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.autoglm.models.config.GlmConfig;
import org.junit.jupiter.api.Test;

class MemoryPlanTest {

    private static final long GIB = 1L << 30;

    static GlmConfig glm4_9b() {
        return new GlmConfig("glm4", 151552, 4096, 13696, 40, 32, 2, 128, 0.5, 10000, 1e-5, 131072, true, false,
                new int[] {151329}, 151329, "bfloat16");
    }

    @Test
    void aKvBlockHoldsKeysAndValuesOfEveryLayer() {
        // 2 (K, V) x 40 layers x 16 tokens x 2 KV heads x 128 dims x 2 bytes
        assertThat(MemoryPlan.kvBlockBytes(glm4_9b(), 16, 2)).isEqualTo(2L * 40 * 16 * 2 * 128 * 2);
    }

    @Test
    void kvBlocksFillWhatTheUtilizationCapLeaves() {
        long total = 80 * GIB;
        long free = 60 * GIB;   // 20 GiB of weights already in
        // cap 0.9 * 80 = 72 GiB, 20 used -> 52 GiB left -> 52 * 1024 blocks of 1 MiB
        assertThat(MemoryPlan.kvBlocks(1 << 20, free, total, 0.90, 1)).isEqualTo(52 * 1024);
    }

    @Test
    void tooLittleRoomIsAStartUpErrorWithTheNumbers() {
        assertThatThrownBy(() -> MemoryPlan.checkFits("the weights (18.00 GiB)", 18 * GIB, 10 * GIB, 24 * GIB, 0.9))
                .isInstanceOf(MemoryPlan.GpuMemoryException.class)
                .hasMessageContaining("the weights (18.00 GiB) need 18.00 GiB of GPU memory")
                .hasMessageContaining("only 7.60 GiB is left within --gpu-memory-utilization 0.90")
                .hasMessageContaining("10.00 GiB free of 24.00 GiB");
        assertThatThrownBy(() -> MemoryPlan.kvBlocks(GIB, GIB, 10 * GIB, 0.5, 1))
                .isInstanceOf(MemoryPlan.GpuMemoryException.class)
                .hasMessageContaining("room for 0 KV blocks of 1024.0 MiB, 1 needed");
    }

    @Test
    void utilizationMustBeAFraction() {
        assertThatThrownBy(() -> MemoryPlan.kvBlocks(1, 1, 1, 1.5, 1))
                .hasMessageContaining("--gpu-memory-utilization must be in (0, 1], got 1.5");
    }
}
