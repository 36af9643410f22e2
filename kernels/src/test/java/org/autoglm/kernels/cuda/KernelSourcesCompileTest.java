package org.autoglm.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Compiles every kernel source with nvcc for sm_80 and sm_90, in both element types, warnings as errors, so that
 * a kernel that does not compile cannot land. All sources go through one translation unit per element type (they
 * share a header and have distinct names), which keeps this to two nvcc runs; the tensor-core sources are in the
 * bf16 one only, as on a GPU. The bf16 build again with the step timeline compiled in (AUTOGLM_TRACE). Skipped,
 * with the reason, where nvcc is not installed.
 */
class KernelSourcesCompileTest {

    @TempDir
    static Path dir;

    static String nvcc;

    @BeforeAll
    static void findNvccAndWriteSources() throws IOException {
        nvcc = findOnPath("nvcc");
        Files.writeString(dir.resolve(KernelSources.HEADER), KernelSources.read(KernelSources.HEADER));
        for (boolean bf16 : new boolean[] {false, true}) {
            StringBuilder all = new StringBuilder();
            for (String source : KernelSources.forTarget(bf16, 80)) {
                Files.writeString(dir.resolve(source), KernelSources.read(source));
                all.append("#include \"").append(source).append("\"\n");
            }
            Files.writeString(dir.resolve(bf16 ? "all-bf16.cu" : "all-f32.cu"), all);
        }
    }

    /** {@code bf16-trace}: the bf16 build with the step timeline's marks compiled in (AUTOGLM_TRACE), for sm_90. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"f32", "bf16", "bf16-trace"})
    void everySourceCompilesForAmpereAndHopper(String build) throws Exception {
        assumeTrue(nvcc != null, "nvcc is not on PATH: kernel sources not compiled here");
        boolean trace = build.endsWith("-trace");
        String precision = trace ? "bf16" : build;
        List<String> cmd = new ArrayList<>(List.of(nvcc, "-gencode", "arch=compute_90,code=sm_90", "-fatbin",
                "-std=c++17", "-Werror", "all-warnings", "-I", dir.toString(), "-o",
                dir.resolve("all-" + build + ".fatbin").toString(), dir.resolve("all-" + precision + ".cu").toString()));
        if (!trace) cmd.addAll(1, List.of("-gencode", "arch=compute_80,code=sm_80"));
        if (precision.equals("bf16")) cmd.add(1, "-DAUTOGLM_BF16");
        if (trace) cmd.add(1, "-DAUTOGLM_TRACE");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        boolean done = p.waitFor(600, TimeUnit.SECONDS); // a hang guard: at load 30 one build took over 120 s
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) p.destroyForcibly();
        assertThat(done).as("nvcc finished").isTrue();
        assertThat(p.exitValue()).as("nvcc %s:%n%s", String.join(" ", cmd), output).isZero();
    }

    private static String findOnPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String d : path.split(File.pathSeparator)) {
            File f = new File(d, name);
            if (f.canExecute()) return f.getPath();
        }
        return null;
    }
}
