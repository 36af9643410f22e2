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
 * The jar on JDKs newer than the 17 it is built for. JDK 19 replaced the Vector API's byte-buffer loads with
 * memory-segment loads (JEP 426), whose {@code java.lang.foreign} API was a preview until JDK 22: on 22 and later the
 * CPU backend's kernels load through it ({@code VectorLoads}), and {@code java -jar} relaunches itself with the module
 * as on 17; on 19-21 {@code --backend cpu} is refused at once, naming the Java release and what to do, and
 * {@code auto} runs on DJL. Runs with the JDKs installed under /usr/lib/jvm (our machines have a Temurin 25); a case
 * without one is skipped.
 */
class NewerJavaProcessesIT {

    private static final String PROMPT = "hello there";

    @Test
    void onJava22AndLaterTheCpuBackendRunsAndAgreesWithJava17() throws Exception {
        assumeTrue(System.getProperty("autoglm.node.jar") != null, "runs in the integration-test phase (mvn verify)");
        Optional<Path> java = installedJava(22, Integer.MAX_VALUE);
        assumeTrue(java.isPresent(), "no JDK 22+ under /usr/lib/jvm");
        String jar = System.getProperty("autoglm.node.jar");
        // a copy: the q8_0 run writes its quantized weights beside the checkpoint
        Path copy = Files.createTempDirectory("newer-java-model");
        try (Stream<Path> files = Files.list(ReferenceCases.fixturesDir().resolve("glm-tiny"))) {
            for (Path f : files.toList()) Files.copy(f, copy.resolve(f.getFileName()));
        }
        try {
            String model = copy.toString();
            Path thisJava = Path.of(System.getProperty("java.home"), "bin", "java");
            assertThat(Runtime.version().feature()).as("the test JVM is the build's JDK").isLessThanOrEqualTo(18);

            for (String quantize : List.of("none", "q8_0")) {
                List<String> args = new java.util.ArrayList<>(List.of("-jar", jar, "generate", "--backend", "cpu",
                        "--model", model, "--prompt", PROMPT, "--max-tokens", "12", "--ignore-eos", "--json",
                        "--dump-logits"));
                if (!quantize.equals("none")) args.addAll(List.of("--quantize", quantize));
                Run newer = run(java.get(), args.toArray(String[]::new));
                Run old = run(thisJava, args.toArray(String[]::new));
                assertThat(newer.exit).as(newer.output).isZero();
                assertThat(old.exit).as(old.output).isZero();
                // the same greedy tokens; the logits within float noise (the two JITs may sum lanes in another order)
                assertThat(field(newer.output, "token_ids")).as(quantize).isEqualTo(field(old.output, "token_ids"));
                float[] a = logits(newer.output);
                float[] b = logits(old.output);
                assertThat(a).hasSameSizeAs(b);
                for (int i = 0; i < a.length; i++) {
                    assertThat(a[i]).as("%s logit %d", quantize, i)
                            .isCloseTo(b[i], org.assertj.core.data.Offset.offset(1e-4f));
                }
            }

            // auto picks our kernels there too: the logits are those of --backend cpu to the last bit, not DJL's
            Run auto = run(java.get(), "-jar", jar, "generate", "--model", model, "--prompt", PROMPT, "--max-tokens",
                    "1", "--json", "--dump-logits");
            Run cpu = run(java.get(), "-jar", jar, "generate", "--backend", "cpu", "--model", model, "--prompt", PROMPT,
                    "--max-tokens", "1", "--json", "--dump-logits");
            assertThat(auto.exit).as(auto.output).isZero();
            assertThat(field(auto.output, "last_logits")).isEqualTo(field(cpu.output, "last_logits"));
        } finally {
            try (Stream<Path> files = Files.list(copy)) {
                for (Path f : files.toList()) Files.delete(f);
            }
            Files.delete(copy);
        }
    }

    @Test
    void onJava19To21CpuIsRefusedWithAReasonAndAutoRunsOnDjl() throws Exception {
        assumeTrue(System.getProperty("autoglm.node.jar") != null, "runs in the integration-test phase (mvn verify)");
        Optional<Path> java = installedJava(19, 21);
        assumeTrue(java.isPresent(), "no JDK 19-21 under /usr/lib/jvm");
        String jar = System.getProperty("autoglm.node.jar");
        String model = ReferenceCases.fixturesDir().resolve("glm-tiny").toString();

        Run refused = run(java.get(), "-jar", jar, "serve", "--backend", "cpu", "--model", model, "--port", "0");
        assertThat(refused.exit).as(refused.output).isEqualTo(1);
        assertThat(refused.output).contains("--backend cpu needs Java 17, 18 or 22 and later").contains("--backend djl")
                .doesNotContain("NoSuchMethodError").doesNotContain("\tat ");

        Run auto = run(java.get(), "-jar", jar, "generate", "--model", model, "--prompt", "hi", "--max-tokens", "4",
                "--json");
        assertThat(auto.exit).as(auto.output).isZero();
        assertThat(auto.output).contains("\"finish_reason\":\"length\"").doesNotContain("NoSuchMethodError");
    }

    /** The JSON value of {@code name} in generate's one-line output, as text. */
    private static String field(String output, String name) throws IOException {
        return json(output).get(name).toString();
    }

    private static float[] logits(String output) throws IOException {
        com.fasterxml.jackson.databind.JsonNode values = json(output).get("last_logits");
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) out[i] = values.get(i).floatValue();
        return out;
    }

    private static com.fasterxml.jackson.databind.JsonNode json(String output) throws IOException {
        String line = output.lines().filter(l -> l.startsWith("{\"prompt_ids\"")).findFirst()
                .orElseThrow(() -> new AssertionError("no JSON line in: " + output));
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
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

    /** A JDK of a release in {@code [from, to]} among /usr/lib/jvm's, by its {@code release} file. */
    private static Optional<Path> installedJava(int from, int to) throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> homes = Files.list(jvms)) {
            return homes.filter(home -> Files.isExecutable(home.resolve("bin/java"))
                            && feature(home) >= from && feature(home) <= to)
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
