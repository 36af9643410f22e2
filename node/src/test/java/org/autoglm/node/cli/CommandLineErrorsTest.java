package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.autoglm.kernels.BackendFactory;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every mistake a user can make on the command line ends as exactly one line on stderr, a non-zero exit code
 * and an empty stdout (issue 2: "Exit code non-zero with a one-line error on stderr for bad input"), including
 * the ones picocli catches before a command runs, and settings that used to be taken silently.
 */
class CommandLineErrorsTest {

    @TempDir
    Path tmp;

    private final String model = ReferenceCases.fixturesDir().resolve("glm-tiny").toString();

    @Test
    void commandLineMistakesAreOneLineWithAPointerToHelp() {
        assertOneLine(run("generate", "--model", model, "--prompt", "hi", "--max-tokens", "abc", "--json"), 2,
                "--max-tokens", "'abc' is not an int");
        assertOneLine(run("generate", "--model", model, "--json"), 2, "Missing required argument");
        assertOneLine(run("generate", "--model", model, "--prompt", "a", "--prompt-ids", "1", "--json"), 2,
                "mutually exclusive");
        assertOneLine(run("generate", "--model", model, "--prompt-ids", "1,x", "--json"), 2, "'x' is not an int");
        assertOneLine(run("generate", "--model", model, "--prompt", "hi", "--bogus"), 2, "Unknown option: '--bogus'");
        assertOneLine(run("serve", "--port", "http"), 2, "--port");
        Run r = run("generate", "--bogus");
        assertThat(r.stderr).contains("see 'autoglm-node generate --help'").doesNotStartWith("error: Error:");
    }

    @Test
    void samplingSettingsOutOfRangeAreRefusedNotIgnored() {
        assertOneLine(run("generate", "--model", model, "--prompt", "hi", "--temperature", "-1", "--json"), 1,
                "--temperature");
        assertOneLine(run("generate", "--model", model, "--prompt", "hi", "--top-p", "0", "--json"), 1, "--top-p");
        assertOneLine(run("generate", "--model", model, "--prompt", "hi", "--top-p", "1.5", "--json"), 1, "--top-p");
        assertOneLine(run("generate", "--model", model, "--prompt", "hi", "--top-k", "-5", "--json"), 1, "--top-k");
    }

    @Test
    void chatMessagesWithoutRoleOrContentAreNamed() throws Exception {
        Path noContent = tmp.resolve("no-content.json");
        Files.writeString(noContent, "[{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"user\"}]");
        assertOneLine(run("generate", "--model", model, "--chat", noContent.toString(), "--json"), 1,
                "message 1 needs both \"role\" and \"content\"");
    }

    @Test
    void serveRefusesBadSettingsBeforeStarting() throws Exception {
        Path ckpt = Files.createDirectories(tmp.resolve("ckpt"));
        assertOneLine(run("serve", "--model", ckpt.toString(), "--port", "0", "--backend", "tpu"), 1,
                "unknown backend 'tpu'");
        assertOneLine(run("serve", "--model", ckpt.toString(), "--port", "0", "--gpu-memory-utilization", "1.5"), 1,
                "--gpu-memory-utilization");
        assertOneLine(run("serve", "--model", ckpt.toString(), "--port", "0", "--jwt-secret-file",
                tmp.resolve("no-secret").toString()), 1, "--jwt-secret-file", "no such readable file");
        assertOneLine(run("serve", "--model", ckpt.toString(), "--port", "0", "--jwt-public-key",
                tmp.resolve("no-key.pem").toString()), 1, "--jwt-public-key", "no such readable file");
        assumeFalse(BackendFactory.resolve(BackendFactory.Kind.AUTO) == BackendFactory.Kind.CUDA, "this host has a GPU");
        assertOneLine(run("serve", "--model", ckpt.toString(), "--port", "0", "--backend", "cuda"), 1,
                "--backend cuda: no usable GPU");
    }

    @Test
    void badClusterTimingsAreRefusedWithTheFlagNamed() throws Exception {
        String ckpt = Files.createDirectories(tmp.resolve("ckpt-timing")).toString();
        assertOneLine(run("serve", "--model", ckpt, "--port", "0", "--heartbeat-interval", "soon"), 1,
                "--heartbeat-interval: 'soon' is not a duration", "250ms");
        assertOneLine(run("serve", "--model", ckpt, "--port", "0", "--suspect-after", "500ms"), 1,
                "--suspect-after (500ms) must be longer than --heartbeat-interval (1000ms)");
        assertOneLine(run("serve", "--model", ckpt, "--port", "0", "--dead-after", "2s"), 1,
                "--dead-after (2000ms) must be longer than --suspect-after (3000ms)");
        assertOneLine(run("serve", "--model", ckpt, "--port", "0", "--max-attempts", "0"), 1,
                "--max-attempts must be between 1 and 100, got 0");
        assertOneLine(run("serve", "--model", ckpt, "--port", "0", "--retry-backoff", "0"), 1,
                "--retry-backoff must be between 1ms and 1m");
    }

    private static void assertOneLine(Run run, int exitCode, String... mentions) {
        assertThat(run.exitCode).as(run.stderr).isEqualTo(exitCode);
        assertThat(run.stdout).isEmpty();
        assertThat(run.stderr.strip().lines()).as(run.stderr).hasSize(1);
        assertThat(run.stderr).startsWith("error: ").contains(mentions);
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
            cli.setOut(new PrintWriter(new StringWriter(), true));
            int code = cli.execute(args);
            return new Run(code, stdout.toString(StandardCharsets.UTF_8), stderr.toString());
        } finally {
            System.setOut(originalOut);
        }
    }
}
