package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.Test;

/**
 * The jar on a JDK newer than the CPU backend's kernels allow (19+: JDK 19 replaced the Vector API's byte-buffer loads
 * with memory-segment loads, and the kernels stopped at their first step with a NoSuchMethodError). {@code --backend
 * cpu} is refused at once, naming the Java release and what to do; {@code auto} runs on DJL instead. Runs where such a
 * JDK is installed under /usr/lib/jvm (our machines have a Temurin 25); elsewhere it is skipped.
 */
class NewerJavaProcessesIT {

    @Test
    void cpuIsRefusedWithAReasonAndAutoRunsOnDjl() throws Exception {
        assumeTrue(System.getProperty("autoglm.node.jar") != null, "runs in the integration-test phase (mvn verify)");
        Optional<Path> java = newerJava();
        assumeTrue(java.isPresent(), "no JDK 19+ under /usr/lib/jvm");
        String jar = System.getProperty("autoglm.node.jar");
        String model = ReferenceCases.fixturesDir().resolve("glm-tiny").toString();

        Run refused = run(java.get(), "-jar", jar, "serve", "--backend", "cpu", "--model", model, "--port", "0");
        assertThat(refused.exit).as(refused.output).isEqualTo(1);
        assertThat(refused.output).contains("--backend cpu needs Java 17 or 18").contains("--backend djl")
                .doesNotContain("NoSuchMethodError").doesNotContain("\tat ");

        Run auto = run(java.get(), "-jar", jar, "generate", "--model", model, "--prompt", "hi", "--max-tokens", "4",
                "--json");
        assertThat(auto.exit).as(auto.output).isZero();
        assertThat(auto.output).contains("\"finish_reason\":\"length\"").doesNotContain("NoSuchMethodError");
    }

    private record Run(int exit, String output) {}

    private static Run run(Path java, String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of(java.toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile("newer-java", ".log");
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
            builder.environment().remove("JDK_JAVA_OPTIONS");
            Process process = builder.start();
            if (!process.waitFor(180, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
                throw new AssertionError(command + " did not end within 180 s: " + Files.readString(out));
            }
            return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** A JDK of release 19 or later among /usr/lib/jvm's, by its {@code release} file. */
    private static Optional<Path> newerJava() throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> homes = Files.list(jvms)) {
            return homes.filter(home -> Files.isExecutable(home.resolve("bin/java")) && feature(home) >= 19)
                    .map(home -> home.resolve("bin/java")).findFirst();
        }
    }

    private static int feature(Path home) {
        try {
            for (String line : Files.readAllLines(home.resolve("release"))) {
                if (line.startsWith("JAVA_VERSION=")) {
                    String version = line.substring("JAVA_VERSION=".length()).replace("\"", "");
                    return Integer.parseInt(version.split("[.+-]")[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not a JDK we can read: skip it
        }
        return 0;
    }
}
