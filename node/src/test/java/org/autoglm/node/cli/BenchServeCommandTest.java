package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.autoglm.node.engine.ReferenceCases;
import org.autoglm.node.loadgen.ShareGptMix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code bench serve} against a real serve of glm-tiny on the CPU backend, over HTTP, with small counts. */
class BenchServeCommandTest {

    @TempDir
    Path dir;

    @Test
    void drivesServeAtEachConcurrencyAndComparesWithBenchDecode() throws Exception {
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        CommandLine serveCli = new CommandLine(new ServeCommand());
        serveCli.parseArgs("--model", model.toString(), "--port", "0", "--backend", "cpu", "--threads", "1");
        try (ServeCommand.RunningNode node = ((ServeCommand) serveCli.getCommand()).start()) {
            await().atMost(Duration.ofSeconds(120)).until(() -> node.state().isReady()
                    || node.state().notReadyReason().startsWith("model failed"));
            Path decode = dir.resolve("bench-decode.json");
            Files.writeString(decode, "{\"decode\": [{\"batch\": 1, \"decode_tok_per_s\": 100.0},"
                    + " {\"batch\": 4, \"decode_tok_per_s\": 400.0}]}");
            ByteArrayOutputStream stdout = new ByteArrayOutputStream();
            PrintStream saved = System.out;
            int exit;
            try {
                System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
                exit = Main.commandLine().execute("bench", "serve", "--url", "http://127.0.0.1:" + node.port(),
                        "--concurrency", "1,4", "--requests", "6", "--length-scale", "0.05", "--max-input-tokens", "48",
                        "--max-output-tokens", "12", "--seed", "5", "--decode-figures", decode.toString(), "--json");
            } finally {
                System.setOut(saved);
            }
            assertThat(exit).isZero();
            JsonNode out = new ObjectMapper().readTree(stdout.toString(StandardCharsets.UTF_8));
            assertThat(out.get("model").asText()).isEqualTo("glm-tiny");
            int expectedTokens = ShareGptMix.requests(new ShareGptMix.Settings(5, 0.05, 48, 12, 0.3, 500), 6).stream()
                    .mapToInt(ShareGptMix.Request::maxTokens).sum();
            for (int i = 0; i < 2; i++) {
                JsonNode level = out.get("levels").get(i);
                assertThat(level.get("concurrency").asInt()).isEqualTo(i == 0 ? 1 : 4);
                assertThat(level.get("completed").asInt()).isEqualTo(6);
                assertThat(level.get("output_tokens").asInt()).isEqualTo(expectedTokens);   // ignore_eos: all of them
                assertThat(level.get("ttft_ms_p50").asDouble()).isPositive();
                assertThat(level.get("ttft_ms_p99").asDouble()).isGreaterThanOrEqualTo(level.get("ttft_ms_p50").asDouble());
                // glm-tiny on a quiet machine streams tokens microseconds apart: a gap may round to 0.00 ms.
                assertThat(level.get("itl_ms_p50").asDouble()).isNotNegative();
                assertThat(level.get("itl_ms_p99").asDouble()).isGreaterThanOrEqualTo(level.get("itl_ms_p50").asDouble());
                double ceiling = i == 0 ? 100.0 : 400.0;
                assertThat(level.get("pct_of_bench_decode").asDouble())
                        .isCloseTo(100 * level.get("output_tok_per_s").asDouble() / ceiling,
                                org.assertj.core.data.Offset.offset(0.1));
            }
        }
    }
}
