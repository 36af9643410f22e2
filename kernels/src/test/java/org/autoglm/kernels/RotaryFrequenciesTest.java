package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.config.GlmConfigReader;
import org.junit.jupiter.api.Test;

class RotaryFrequenciesTest {

    @Test
    void onlyTheRotaryPartOfEachHeadHasFrequencies() {
        GlmConfig c = GlmConfigReader.read(Fixtures.model("glm-tiny"));   // head_dim 16, factor 0.5, theta 1e4
        float[] inv = CudaBackend.inverseFrequencies(c);
        assertThat(c.rotaryDim()).isEqualTo(8);
        assertThat(inv).hasSize(4);
        // 1 / 10000^(2i / 8), as torch computes it in fp32
        assertThat(inv).containsExactly(1f, 0.1f, 0.01f, 0.001f);
    }
}
