package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The {@code serve} command line: refusals with reasons, and the server coming up before the model. */
class ServeCommandTest {

    @TempDir
    Path dir;

    record Run(int exit, String err) {}

    static Run run(String... args) {
        CommandLine cli = Main.commandLine();
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute(args);
        return new Run(exit, err.toString());
    }

    private static final String MODEL = ReferenceCases.fixturesDir().resolve("glm-tiny").toString();

    @Test
    void refusesAPublicAddressWithoutAuthentication() throws Exception {
        Run r = run("serve", "--model", MODEL, "--host", "0.0.0.0", "--port", "0");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("without authentication").contains("--insecure").doesNotContain("\tat ");
    }

    @Test
    void unknownPluginAndBadOptionsAreOneLineErrors() throws Exception {
        Run r = run("serve", "--model", MODEL, "--port", "0", "--plugins", "nope");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("Unknown plugin 'nope'").contains("audit-log").contains("sensitive-words");
        Run bad = run("serve", "--model", MODEL, "--port", "0", "--plugin-option", "x");
        assertThat(bad.err()).contains("NAME.KEY=VALUE");
        Run missing = run("serve", "--model", dir.resolve("nowhere").toString());
        assertThat(missing.err()).contains("not a directory");
    }

    /** Issue 15: -V printed "dev" while the pom said 0.1.0-SNAPSHOT. */
    @Test
    void versionIsThePomVersion() throws Exception {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        assertThat(cli.execute("-V")).isZero();
        String pom = Files.readString(Path.of(System.getProperty("user.dir")).resolve("pom.xml"));
        java.util.regex.Matcher version = java.util.regex.Pattern.compile("<parent>[\\s\\S]*?<version>([^<]+)</version>")
                .matcher(pom);
        assertThat(version.find()).isTrue();
        assertThat(out.toString().strip()).isEqualTo("autoglm-node " + version.group(1));
    }

    @Test
    void helpListsTheFlags() {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.execute("serve", "--help");
        assertThat(out.toString()).contains("--model", "--served-model-name", "--host", "--port", "--tls-keystore",
                "--jwt-secret-file", "--jwt-public-key", "--insecure", "--max-request-bytes", "--plugins",
                "--otlp-endpoint", "--max-num-seqs", "--max-num-batched-tokens", "--scheduling-policy",
                "--default-max-tokens");
        // Defaults come from the options objects and show in the help.
        assertThat(out.toString().replaceAll("\\s+", " ")).contains("(default: 256)", "(default: 2048)",
                "(default: fcfs)", "(default: 16)", "(default: 0.9)", "(default: 127.0.0.1)", "(default: 4194304)");
    }

    @Test
    void httpComesUpBeforeTheModelAndALoadFailureMakesHealthFail() throws Exception {
        // A checkpoint whose config is fine but whose weights are found corrupt only while loading.
        Path ckpt = Files.createDirectories(dir.resolve("my-model"));
        for (String f : new String[] {"config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"}) {
            Files.copy(Path.of(MODEL, f), ckpt.resolve(f));
        }
        Files.writeString(ckpt.resolve("model.safetensors"), "not a safetensors file");
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", ckpt.toString(), "--port", "0", "--audit-log", dir.resolve("audit.jsonl").toString());
        ServeCommand serve = cli.getCommand();
        try (ServeCommand.RunningNode node = serve.start()) {
            HttpClient http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + node.port();
            await().atMost(Duration.ofSeconds(30)).until(() -> node.state().notReadyReason() != null
                    && node.state().notReadyReason().startsWith("model failed"));
            HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create(base + "/ready")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).contains("model failed to load");
            // Not "alive" either: an orchestrator restarts it instead of waiting for a ready that never comes.
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(503);
            assertThat(health.body()).contains("failed to load").contains("restart");
            assertThat(Files.exists(dir.resolve("audit.jsonl"))).isTrue();
        }
    }
}
