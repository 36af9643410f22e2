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
        assertOneLine(run("serve", "--model", model, "--port", "0", "--backend", "tpu"), 1,
                "unknown backend 'tpu'");
        assertOneLine(run("serve", "--model", model, "--port", "0", "--gpu-memory-utilization", "1.5"), 1,
                "--gpu-memory-utilization");
        assertOneLine(run("serve", "--model", model, "--port", "0", "--backend", "cpu", "--quantize", "fp8"), 1,
                "--quantize fp8: the cpu backend takes q8_0 or q4_0");
        assertOneLine(run("serve", "--model", model, "--port", "0", "--backend", "cpu", "--cuda-option", "warp=9"), 1,
                "--cuda-option: unknown option 'warp'");
        assertOneLine(run("serve", "--model", model, "--port", "0", "--jwt-secret-file",
                tmp.resolve("no-secret").toString()), 1, "--jwt-secret-file", "no such readable file");
        assertOneLine(run("serve", "--model", model, "--port", "0", "--jwt-public-key",
                tmp.resolve("no-key.pem").toString()), 1, "--jwt-public-key", "no such readable file");
        assumeFalse(BackendFactory.resolve(BackendFactory.Kind.AUTO) == BackendFactory.Kind.CUDA, "this host has a GPU");
        assertOneLine(run("serve", "--model", model, "--port", "0", "--backend", "cuda"), 1,
                "--backend cuda: no usable GPU");
    }

    /**
     * Every engine, HTTP and model flag with a value serve cannot use stops it with one line before the HTTP
     * server starts (the port asked for is still free afterwards), instead of a node that answers 503 forever.
     */
    @Test
    void everyBadServeFlagValueStopsTheProcessBeforeItListens() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        String[][] cases = {
                {"--scheduling-policy", "lifo", "--scheduling-policy", "fcfs, priority, sjf, mlfq"},
                {"--block-size", "0", "--block-size"},
                {"--max-num-seqs", "0", "--max-num-seqs"},
                {"--max-num-batched-tokens", "-1", "--max-num-batched-tokens"},
                {"--num-kv-blocks", "-2", "--num-kv-blocks"},
                {"--max-waiting", "-1", "--max-waiting"},
                {"--max-model-len", "-5", "--max-model-len"},
                {"--default-max-tokens", "-1", "--default-max-tokens"},
                {"--max-request-bytes", "0", "--max-request-bytes"},
                {"--request-timeout", "-1", "--request-timeout"},
                {"--session-ttl", "0", "--session-ttl"},
                {"--max-sessions-per-user", "-1", "--max-sessions-per-user"},
                {"--tls-keystore", tmp.resolve("none.p12").toString(), "--tls-keystore"},
                {"--otlp-endpoint", "collector", "--otlp-endpoint"},
                {"--expected-nodes", "0", "--expected-nodes"},
                {"--peers", "nohost", "--peers"},
                {"--heartbeat-interval", "soon", "--heartbeat-interval: 'soon' is not a duration", "250ms"},
                {"--suspect-after", "500ms", "--suspect-after (500ms) must be longer than --heartbeat-interval (1000ms)"},
                {"--dead-after", "2s", "--dead-after (2000ms) must be longer than --suspect-after (3000ms)"},
                {"--max-attempts", "0", "--max-attempts must be between 1 and 100, got 0"},
                {"--retry-backoff", "0", "--retry-backoff must be between 1ms and 1m"},
                {"--grid-route", "a:1", "--grid-route: 'a:1' is not PEER_HOST:PORT=VIA_HOST:PORT"},
                {"--model", empty.toString(), "has no config.json"},
        };
        for (String[] c : cases) {
            int port;
            try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
                port = probe.getLocalPort();
            }
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("serve", "--port",
                    Integer.toString(port)));
            if (!c[0].equals("--model")) {
                args.addAll(java.util.List.of("--model", model));
            }
            args.addAll(java.util.List.of(c[0], c[1]));
            String[] mentions = java.util.Arrays.copyOfRange(c, 2, c.length);
            assertOneLine(run(args.toArray(String[]::new)), 1, mentions);
            try (java.net.ServerSocket stillFree = new java.net.ServerSocket(port)) {
                assertThat(stillFree.getLocalPort()).as(c[0] + " " + c[1]).isEqualTo(port);
            }
        }
        assertOneLine(run("serve", "--port", "70000"), 1, "--port");
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
