package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The relaunched JVM caps the young generation and G1's heap growth unless the user's own options set them. */
class VectorModuleRelaunchTest {

    @Test
    void theUsersYoungGenerationOptionsAreKept() {
        assertThat(VectorModuleRelaunch.sizesYoungGeneration(List.of())).isFalse();
        assertThat(VectorModuleRelaunch.sizesYoungGeneration(List.of("-Xmx4g", "-Dfoo=bar", "-XX:+UseG1GC"))).isFalse();
        for (String option : List.of("-Xmn128m", "-XX:MaxNewSize=1g", "-XX:NewSize=32m", "-XX:NewRatio=3",
                "-XX:G1MaxNewSizePercent=20")) {
            assertThat(VectorModuleRelaunch.sizesYoungGeneration(List.of("-Xmx4g", option))).as(option).isTrue();
        }
    }

    @Test
    void theMemoryDefaultsLeaveWhatTheUserSetAlone() {
        assertThat(VectorModuleRelaunch.memoryDefaults(List.of("-Xmx4g")))
                .containsExactly(VectorModuleRelaunch.YOUNG_GENERATION, VectorModuleRelaunch.GC_TIME_RATIO,
                        "-XX:MinHeapFreeRatio=5", "-XX:MaxHeapFreeRatio=20");
        assertThat(VectorModuleRelaunch.memoryDefaults(
                List.of("-Xmn128m", "-XX:GCTimeRatio=9", "-XX:MaxHeapFreeRatio=50"))).isEmpty();
        assertThat(VectorModuleRelaunch.memoryDefaults(List.of("-XX:GCTimeRatio=9", "-XX:MinHeapFreeRatio=1")))
                .containsExactly(VectorModuleRelaunch.YOUNG_GENERATION);
        // one ratio of the user's alone: neither of ours, which could contradict it (the JVM would not start)
        assertThat(VectorModuleRelaunch.memoryDefaults(List.of("-XX:MaxHeapFreeRatio=3")))
                .doesNotContain("-XX:MinHeapFreeRatio=5");
    }
}
