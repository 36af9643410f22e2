package org.autoglm.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Which kernel sources the backend can start without, and that it cannot start without the others. */
class KernelSourcesTest {

    private static String load(String source, String refused) {
        if (source.equals(refused)) throw new CudaException("NVRTC could not compile " + source + "\nlog line 2", 6);
        return "module of " + source;
    }

    @Test
    void anOptionalSourceThatDoesNotCompileIsLeftOut() {
        List<String> sources = KernelSources.forTarget(true, 90);
        for (String optional : List.of("flash_attention.cu", "gemv.cu")) {
            var loaded = KernelSources.loadAll(sources, s -> load(s, optional));
            assertThat(loaded).doesNotContainKey(optional).hasSize(sources.size() - 1)
                    .containsEntry("attention.cu", "module of attention.cu");
        }
    }

    @Test
    void anyOtherSourceThatDoesNotCompileStopsTheBackend() {
        assertThatThrownBy(() -> KernelSources.loadAll(KernelSources.forTarget(true, 90),
                s -> load(s, "attention.cu")))
                .isInstanceOf(CudaException.class).hasMessageContaining("attention.cu");
    }

    @Test
    void tensorCoreSourcesAreOnlyForBf16OnSm80AndNewer() {
        assertThat(KernelSources.forTarget(true, 80)).contains("flash_attention.cu");
        assertThat(KernelSources.forTarget(true, 75)).doesNotContain("flash_attention.cu");
        assertThat(KernelSources.forTarget(false, 90)).doesNotContain("flash_attention.cu");
    }
}
