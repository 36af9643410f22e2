package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.autoglm.kernels.cuda.CudaDevice;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchDecodeCommandTest {

    private static String[] run(String... args) {
        CommandLine cli = Main.commandLine();
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new String[] {String.valueOf(code), err.toString()};
    }

    @Test
    void withoutAGpuItSaysSoInOneLine() {
        assumeTrue(CudaDevice.probe() == 0, "a GPU is present: the benchmark would run");
        String[] r = run("bench-decode", "--backend", "auto", "--shape", "glm-4-9b");
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[1].strip()).isEqualTo("error: bench-decode measures the CUDA backend, and no GPU is usable here;"
                + " run it on a GPU host with --backend cuda");
    }

    /** Issue 15: --help showed no defaults. */
    @Test
    void helpShowsTheDefaults() {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.execute("bench-decode", "--help");
        assertThat(out.toString().replaceAll("\\s+", " ")).contains("(default: 1,8,64,256)", "(default: 128)",
                "(default: 0.9)").contains("default: cuda");
    }

    @Test
    void theCpuBackendIsNotWhatItMeasures() {
        String[] r = run("bench-decode", "--backend", "djl", "--shape", "glm-4-9b");
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[1]).contains("--backend djl is not it");
    }

    @Test
    void unknownBackendsAndMissingShapesAreRejected() {
        assertThat(run("bench-decode", "--backend", "tpu", "--shape", "glm-4-9b")[1])
                .contains("unknown backend 'tpu': use cuda, cpu, djl or auto");
        assertThat(run("bench-decode", "--backend", "cuda")[1]).contains("give --shape glm-edge-1.5b|glm-4-9b or --model DIR");
        assertThat(run("bench-decode", "--backend", "cuda", "--shape", "glm-70b")[1].strip())
                .isEqualTo("error: unknown shape 'glm-70b'; known: [glm-edge-1.5b, glm-4-9b]");
    }
}
