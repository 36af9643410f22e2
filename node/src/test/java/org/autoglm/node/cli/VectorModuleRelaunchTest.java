package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The relaunched JVM caps the young generation unless the user's own options size it. */
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
}
