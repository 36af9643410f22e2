package org.autoglm.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The start-up path without a GPU: NVRTC (found like on a GPU host, e.g. through AUTOGLM_CUDA_LIB_DIRS) compiles
 * every kernel source through our JNA binding, and the disk cache serves the second request. Skipped where no
 * libnvrtc is installed.
 */
class NvrtcCompileTest {

    @TempDir
    static Path cache;

    static boolean nvrtcPresent;

    @BeforeAll
    static void findNvrtc() {
        try {
            Nvrtc.load();
            nvrtcPresent = true;
        } catch (CudaException e) {
            nvrtcPresent = false;
        }
    }

    @ParameterizedTest(name = "sm_{0} bf16={1}")
    @CsvSource({"80,false", "90,true", "90,false"})
    void everySourceCompilesToACubinAndIsCached(int cc, boolean bf16) throws Exception {
        assumeTrue(nvrtcPresent, "libnvrtc not found: set " + CudaLibraries.DIRS_ENV + " to run this here");
        KernelCompiler compiler = new KernelCompiler(cache);
        for (String source : KernelSources.forTarget(bf16, cc)) {
            byte[] image = compiler.compile(source, bf16, cc);
            // an ELF cubin: 0x7f 'E' 'L' 'F'
            assertThat(image).as(source).startsWith((byte) 0x7f, (byte) 'E', (byte) 'L', (byte) 'F');
        }
        try (var files = Files.list(cache)) {
            assertThat(files.filter(p -> p.toString().endsWith("-sm" + cc + ".bin")).count()).isGreaterThanOrEqualTo(
                    KernelSources.SOURCES.size());
        }
        // a second compiler finds them on disk without NVRTC
        byte[] again = new KernelCompiler(cache).compile("attention.cu", bf16, cc);
        assertThat(again).isEqualTo(new KernelCompiler(cache).compile("attention.cu", bf16, cc));
    }

    @Test
    void aGpuNewerThanNvrtcGetsPtxForTheNewestArchitectureItKnows() throws Exception {
        assumeTrue(nvrtcPresent, "libnvrtc not found");
        byte[] ptx = new KernelCompiler(cache).compile("rope.cu", true, 990);
        String text = new String(ptx, java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(text).contains(".target sm_").contains("bias_rope_kv_write");
        assertThat(ptx[ptx.length - 1]).isZero();   // NUL-terminated for cuModuleLoadData
    }

    @Test
    void aSourceMissingFromTheJarIsNamed() {
        assumeTrue(nvrtcPresent, "libnvrtc not found");
        assertThatThrownBy(() -> new KernelCompiler(cache).compile("no-such-source.cu", false, 90))
                .hasMessageContaining("kernel source no-such-source.cu is missing from the jar");
    }
}
