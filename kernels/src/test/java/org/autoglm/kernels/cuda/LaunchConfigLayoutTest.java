package org.autoglm.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The byte layouts {@link LaunchConfig} writes for {@code cuLaunchKernelEx} (JNA has no header to check them)
 * against the CUDA toolkit's own cuda.h, compiled with gcc. Skipped, with the reason, without nvcc's toolkit or gcc.
 */
class LaunchConfigLayoutTest {

    @TempDir
    Path dir;

    @Test
    void matchesCudaH() throws Exception {
        Path include = cudaInclude();
        assumeTrue(include != null, "no CUDA toolkit (nvcc) with include/cuda.h here");
        Files.writeString(dir.resolve("layout.c"), """
                #include <cuda.h>
                #include <stddef.h>
                #include <stdio.h>
                int main(void) {
                    printf("%zu %zu %zu %zu %zu %zu %d\\n", sizeof(CUlaunchConfig), offsetof(CUlaunchConfig, hStream),
                           offsetof(CUlaunchConfig, attrs), offsetof(CUlaunchConfig, numAttrs),
                           sizeof(CUlaunchAttribute), offsetof(CUlaunchAttribute, value),
                           (int) CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
                    return 0;
                }
                """);
        Process cc;
        try {
            cc = new ProcessBuilder("gcc", "-I", include.toString(), "-o", dir.resolve("layout").toString(),
                    dir.resolve("layout.c").toString()).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            assumeTrue(false, "gcc is not installed");
            return;
        }
        assertThat(cc.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(cc.exitValue()).as(new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
        Process run = new ProcessBuilder(dir.resolve("layout").toString()).start();
        String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(run.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(out).isEqualTo(LaunchConfig.CONFIG_BYTES + " " + LaunchConfig.CONFIG_STREAM + " "
                + LaunchConfig.CONFIG_ATTRS + " " + LaunchConfig.CONFIG_NUM_ATTRS + " " + LaunchConfig.ATTRIBUTE_BYTES
                + " " + LaunchConfig.ATTRIBUTE_VALUE + " "
                + CuDriver.CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
    }

    /** The include folder of the toolkit whose nvcc is on PATH (nvcc -dryrun names it: TOP=...). */
    private static Path cudaInclude() throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("nvcc", "-dryrun", "-c", "x.cu").redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        for (String line : out.split("\n")) {
            int at = line.indexOf("TOP=");
            if (at < 0) continue;
            Path include = Path.of(line.substring(at + 4).trim()).resolve("include").normalize();
            if (Files.isRegularFile(include.resolve("cuda.h"))) return include;
        }
        return null;
    }
}
