package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code generate} and {@code init-demo} commands as a user runs them (in-process, through picocli), on the
 * reference fixtures: the exact interface of issue 2 and the reference's numbers.
 */
class GenerateCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** Every case of both fixtures: raw prompts as --prompt TEXT, chat cases as --chat FILE. */
    static Stream<Arguments> referenceCases() throws IOException {
        List<Arguments> all = new ArrayList<>();
        for (String name : List.of("glm-tiny", "glm4-tiny")) {
            JsonNode root = JSON.readTree(ReferenceCases.fixturesDir().resolve(name + ".reference.json").toFile());
            int chat = 0;
            for (JsonNode c : root.get("cases")) {
                JsonNode messages = c.get("kind").asText().equals("chat") ? root.get("chat_messages").get(chat++) : null;
                all.add(Arguments.of(name, c, messages));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("referenceCases")
    void reproducesTheReference(String fixture, JsonNode reference, JsonNode chatMessages) throws IOException {
        Path model = ReferenceCases.fixturesDir().resolve(fixture);
        List<String> args = new ArrayList<>(List.of("generate", "--model", model.toString(), "--max-tokens", "24",
                "--ignore-eos", "--dump-logits", "--json", "--backend", "djl"));
        if (chatMessages != null) {
            Path chat = tmp.resolve("chat.json");
            JSON.writeValue(chat.toFile(), chatMessages);
            args.addAll(List.of("--chat", chat.toString()));
        } else {
            args.addAll(List.of("--prompt", reference.get("text").asText()));
        }

        Run run = run(args.toArray(String[]::new));

        assertThat(run.exitCode).as(run.stderr).isZero();
        JsonNode out = JSON.readTree(run.stdout); // stdout holds exactly one JSON object
        assertThat(ints(out.get("prompt_ids"))).containsExactly(ints(reference.get("input_ids")));
        assertThat(ints(out.get("token_ids"))).containsExactly(ints(reference.get("greedy_ids")));
        assertThat(out.get("finish_reason").asText()).isEqualTo("length");
        JsonNode expected = reference.get("last_logits");
        JsonNode actual = out.get("last_logits");
        assertThat(actual.size()).isEqualTo(expected.size());
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i).asDouble()).as("logit %d", i).isCloseTo(expected.get(i).asDouble(), within(1e-4));
        }
    }

    @Test
    void initDemoSizesTheModelToAGivenTokenizer() throws IOException {
        Path tokenizerDir = tmp.resolve("qwen");
        Files.createDirectories(tokenizerDir);
        try (var zip = new java.util.zip.ZipInputStream(Files.newInputStream(
                ReferenceCases.fixturesDir().resolve("tokenizers/qwen3-151k.zip")))) {
            for (var e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                if (!e.isDirectory()) {
                    Files.copy(zip, tokenizerDir.resolve(Path.of(e.getName()).getFileName()));
                }
            }
        }
        Path demo = tmp.resolve("demo151k");
        Run init = run("init-demo", demo.toString(), "--tokenizer", tokenizerDir.resolve("tokenizer.json").toString());
        assertThat(init.exitCode).as(init.stderr).isZero();
        JsonNode config = JSON.readTree(demo.resolve("config.json").toFile());
        assertThat(config.get("vocab_size").asInt()).isEqualTo(151_680);   // ids 0..151,668, padded to 64
        assertThat(Files.mismatch(demo.resolve("tokenizer.json"), tokenizerDir.resolve("tokenizer.json"))).isEqualTo(-1);
        Run run = run("generate", "--model", demo.toString(), "--max-tokens", "3", "--json", "--backend", "djl",
                "--prompt", "Hello");
        assertThat(run.exitCode).as(run.stderr).isZero();
        assertThat(JSON.readTree(run.stdout).get("token_ids").size()).isBetween(1, 3);

        assertThat(run("init-demo", tmp.resolve("x").toString(), "--tokenizer", tmp.resolve("none.json").toString())
                .exitCode).isNotZero();
    }

    @Test
    void initDemoWritesACheckpointThatGenerates() throws IOException {
        Path demo = tmp.resolve("demo");
        assertThat(run("init-demo", demo.toString()).exitCode).isZero();
        assertThat(demo.resolve("config.json")).exists();
        assertThat(demo.resolve("tokenizer.json")).exists();
        assertThat(demo.resolve("chat_template.jinja")).exists();

        Path chat = tmp.resolve("chat.json");
        Files.writeString(chat, "[{\"role\":\"user\",\"content\":\"你好，集群\"}]");
        Run run = run("generate", "--model", demo.toString(), "--chat", chat.toString(), "--max-tokens", "8",
                "--temperature", "0.7", "--top-p", "0.9", "--top-k", "50", "--seed", "7", "--json", "--backend", "djl");
        assertThat(run.exitCode).as(run.stderr).isZero();
        JsonNode out = JSON.readTree(run.stdout);
        assertThat(out.get("token_ids").size()).isBetween(1, 8);
        assertThat(out.get("finish_reason").asText()).isIn("stop", "length");
        assertThat(out.has("last_logits")).isFalse();

        // Seeded sampling is reproducible.
        Run again = run("generate", "--model", demo.toString(), "--chat", chat.toString(), "--max-tokens", "8",
                "--temperature", "0.7", "--top-p", "0.9", "--top-k", "50", "--seed", "7", "--json", "--backend", "djl");
        assertThat(JSON.readTree(again.stdout).get("token_ids")).isEqualTo(out.get("token_ids"));
    }

    @Test
    void badInputIsOneLineOnStderrAndANonZeroExit() throws IOException {
        String model = ReferenceCases.fixturesDir().resolve("glm-tiny").toString();
        Path notJson = tmp.resolve("chat.json");
        Files.writeString(notJson, "{\"role\": \"user\"");

        assertOneLineError(run("generate", "--model", tmp.resolve("missing").toString(), "--prompt", "hi", "--json"),
                "tokenizer.json");
        assertOneLineError(run("generate", "--model", model, "--prompt-ids", "1,2,70000", "--json"), "70000");
        assertOneLineError(run("generate", "--model", model, "--chat", notJson.toString(), "--json"), "--chat");
        assertOneLineError(run("generate", "--model", model, "--prompt", "hi", "--max-tokens", "0", "--json"),
                "--max-tokens");
        assertOneLineError(run("generate", "--model", model, "--prompt", "hi", "--backend", "tpu", "--json"), "tpu");
        Run noPrompt = run("generate", "--model", model, "--json");
        assertThat(noPrompt.exitCode).isNotZero();
        assertThat(noPrompt.stdout).isEmpty();
    }

    private static void assertOneLineError(Run run, String mentions) {
        assertThat(run.exitCode).isNotZero();
        assertThat(run.stdout).isEmpty();
        assertThat(run.stderr.strip()).startsWith("error:").contains(mentions).doesNotContain("\n\tat ");
    }

    private record Run(int exitCode, String stdout, String stderr) {}

    private static Run run(String... args) {
        PrintStream originalOut = System.out;
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        StringWriter stderr = new StringWriter();
        try {
            System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
            var cli = Main.commandLine();
            cli.setErr(new PrintWriter(stderr, true));
            int code = cli.execute(args);
            return new Run(code, stdout.toString(StandardCharsets.UTF_8), stderr.toString());
        } finally {
            System.setOut(originalOut);
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
