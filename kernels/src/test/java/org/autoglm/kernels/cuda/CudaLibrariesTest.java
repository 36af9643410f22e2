package org.autoglm.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CudaLibrariesTest {

    @Test
    void findsThePlainNameFirstThenVersionedSonamesNewestFirst(@TempDir Path dir) throws Exception {
        for (String f : new String[] {"libnvrtc.so.12", "libnvrtc.so.13.0.88", "libnvrtc.so", "libnvrtc.so.12.10.1",
                "libnvrtc-builtins.so.13.0", "libnvrtc.so.13", "libnvrtcx.so.1"}) {
            Files.createFile(dir.resolve(f));
        }
        assertThat(CudaLibraries.candidates(dir, "nvrtc")).extracting(p -> p.getFileName().toString())
                .containsExactly("libnvrtc.so", "libnvrtc.so.13.0.88", "libnvrtc.so.13", "libnvrtc.so.12.10.1",
                        "libnvrtc.so.12");
        assertThat(CudaLibraries.candidates(dir, "nvrtc-builtins")).extracting(p -> p.getFileName().toString())
                .containsExactly("libnvrtc-builtins.so.13.0");
    }

    @Test
    void versionKeysOrderNumerically() {
        assertThat(CudaLibraries.versionKey("libcublas.so.12.10")).isGreaterThan(CudaLibraries.versionKey("libcublas.so.12.9"));
        assertThat(CudaLibraries.versionKey("libcublas.so.13")).isGreaterThan(CudaLibraries.versionKey("libcublas.so.12.9.1"));
    }

    @Test
    void aMissingLibrarySaysWhatWasTriedAndWhatToDo() {
        assertThatThrownBy(() -> CudaLibraries.load("autoglm-no-such-library"))
                .isInstanceOf(CudaException.class)
                .hasMessageContaining("cannot load libautoglm-no-such-library.so (CUDA 12 or 13)")
                .hasMessageContaining(CudaLibraries.DIRS_ENV);
    }

    @Test
    void withoutADriverProbeSaysNoGpuInsteadOfThrowing() {
        // On machines without libcuda (CI, our dev box) this is 0; on a GPU host it counts the GPUs.
        assertThat(CudaDevice.probe()).isGreaterThanOrEqualTo(0);
    }

    @Test
    void nvrtcArchChoiceFallsBackToTheNewestOlderArchitecture() {
        assertThat(KernelCompiler.chooseArch(new int[] {75, 80, 86, 89, 90}, 90)).isEqualTo(90);
        assertThat(KernelCompiler.chooseArch(new int[] {75, 80, 86, 89, 90}, 120)).isEqualTo(90);
        assertThatThrownBy(() -> KernelCompiler.chooseArch(new int[] {75, 80}, 70))
                .hasMessageContaining("the GPU is sm_70");
    }
}
