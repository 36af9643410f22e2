package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CudaConfigTest {

    @Test
    void optionsSetTheirFields() {
        CudaConfig c = new CudaConfig();
        c.set("flash-attention=false");
        c.set("fused-decode=off");
        c.set("decode-attention-warps=16");
        c.set("decode-key-rows-per-split=32");
        c.set("dense-attention-min-tokens=1");
        c.set("define=FA_MIN_BLOCKS=2");
        c.set("define=AUTOGLM_TRACE=1");
        c.set("skip-kernels=gemv, decode_attention");
        assertThat(c.flashAttention).isFalse();
        assertThat(c.fusedDecode).isFalse();
        assertThat(c.decodeAttention).isTrue();
        assertThat(c.decodeAttentionWarps).isEqualTo(16);
        assertThat(c.decodeKeyRowsPerSplit).isEqualTo(32);
        assertThat(c.denseAttentionMinTokens).isEqualTo(1);
        assertThat(c.defines).containsExactly("FA_MIN_BLOCKS=2", "AUTOGLM_TRACE=1");
        assertThat(c.traced()).isTrue();
        assertThat(c.skipKernels).containsExactlyInAnyOrder("gemv", "decode_attention");
    }

    @Test
    void defaultsDoNotDependOnSystemProperties() {
        System.setProperty("autoglm.cuda.flashAttention", "false");
        try {
            assertThat(new CudaConfig().flashAttention).isTrue();
        } finally {
            System.clearProperty("autoglm.cuda.flashAttention");
        }
        assertThat(new CudaConfig().traced()).isFalse();
    }

    @Test
    void badOptionsNameTheFlagAndTheChoices() {
        CudaConfig c = new CudaConfig();
        assertThatThrownBy(() -> c.set("warps=4")).hasMessageContaining("--cuda-option: unknown option 'warps'")
                .hasMessageContaining("decode-attention-warps");
        assertThatThrownBy(() -> c.set("fused-decode")).hasMessageContaining("give NAME=VALUE");
        assertThatThrownBy(() -> c.set("fused-decode=maybe")).hasMessageContaining("give true or false");
        assertThatThrownBy(() -> c.set("decode-attention-warps=3")).hasMessageContaining("4 to 16 warps");
        assertThatThrownBy(() -> c.set("decode-key-rows-per-split=x")).hasMessageContaining("a whole number");
        assertThatThrownBy(() -> c.set("define=1BAD")).hasMessageContaining("preprocessor definition");
    }

    @Test
    void quantizationNamesWhatTheCudaBackendTakes() {
        assertThat(WeightQuantization.parse("FP8")).isEqualTo(WeightQuantization.FP8);
        assertThat(WeightQuantization.parse("int8")).isEqualTo(WeightQuantization.INT8);
        assertThat(WeightQuantization.parse("none")).isNull();
        assertThatThrownBy(() -> WeightQuantization.parse("q8_0"))
                .hasMessage("--quantize q8_0: the cuda backend takes fp8 or int8");
    }
}
