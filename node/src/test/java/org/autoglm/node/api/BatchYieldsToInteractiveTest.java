package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import org.autoglm.node.cli.ServeCommand;
import org.autoglm.node.engine.EngineStats;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * A batch that saturates a node does not make interactive work wait: one real node (glm-tiny, real engine, one-node
 * grid, real HTTP) runs one sequence at a time ({@code --max-num-seqs 1}) and gets a batch of long lines, one running
 * and the rest of its chunk (15 lines) queued in the node's engine. An interactive request sent then takes the running
 * line's place (it is preempted) and is answered before the queued lines run: in arrival order it would have waited
 * for all of them. Counted in tokens the engine generated, not timed; the bound (half the queued lines) leaves room
 * for the request's own way through the queue and the leader, during which a quiet machine runs a few lines.
 */
class BatchYieldsToInteractiveTest {

    private static final int GRID_PORT = 21500 + Integer.getInteger("autoglm.test.portOffset", 0);
    /** Tokens per batch line: hundreds of engine steps, so the line running when the request arrives is mid-way. */
    private static final int LINE_TOKENS = 500;
    /** One chunk's worth: the node claims them all at once, so all but the running one wait in its engine. */
    private static final int LINES = 16;

    static ServeCommand.RunningNode node;
    static Http http;

    @BeforeAll
    static void start() throws Exception {
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", model.toString(), "--port", "0", "--num-kv-blocks", "512", "--block-size", "4",
                "--max-num-seqs", "1", "--grid-port", Integer.toString(GRID_PORT));
        node = ((ServeCommand) cli.getCommand()).start();
        await().atMost(Duration.ofSeconds(120)).until(() -> node.state().isReady()
                || String.valueOf(node.state().notReadyReason()).startsWith("model failed"));
        assertThat(node.state().notReadyReason()).isNull();
        http = new Http(node.port());
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void anInteractiveRequestOvertakesTheBatchLinesQueuedOnItsNode() {
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < LINES; i++) {
            file.append("{\"custom_id\":\"line-").append(i).append("\",\"method\":\"POST\",\"url\":\"/v1/completions\",")
                    .append("\"body\":{\"prompt\":[").append(20 + i).append(",21,22,23,24,25,26,27],\"max_tokens\":")
                    .append(LINE_TOKENS).append(",\"temperature\":0,\"ignore_eos\":true}}\n");
        }
        String fileId = BatchApiTest.upload(http, "long-lines.jsonl", file.toString(), "batch").json().get("id").asText();
        String batchId = http.post("/v1/batches", "{\"input_file_id\":\"" + fileId
                + "\",\"endpoint\":\"/v1/completions\",\"completion_window\":\"24h\"}").json().get("id").asText();
        EngineStats stats = node.state().current().engine().stats();

        // The first line runs, early in its output (so it cannot end before the request arrives); the others wait.
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(5))
                .until(() -> stats.running() == 1 && stats.waiting() > 0
                        && stats.generatedTokens() % LINE_TOKENS > 0 && stats.generatedTokens() % LINE_TOKENS < 100);
        long linesDoneBefore = stats.generatedTokens() / LINE_TOKENS;
        assertThat(stats.preemptions()).isZero();

        Http.Response answer = http.post("/v1/completions",
                "{\"prompt\":[100,11,12,13],\"max_tokens\":4,\"temperature\":0,\"ignore_eos\":true}");

        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        assertThat(answer.json().at("/usage/completion_tokens").asInt()).isEqualTo(4);
        // Behind the queued lines it would have waited for all 15 x 500 tokens; overtaking them, only for the lines
        // that ran while it travelled from the HTTP route through the queue and the leader to the engine.
        long batchTokensSince = stats.generatedTokens() - 4 - linesDoneBefore * LINE_TOKENS;
        assertThat(batchTokensSince).as("batch tokens generated before the interactive answer")
                .isLessThan((LINES / 2L) * LINE_TOKENS);
        JsonNode batch = http.get("/v1/batches/" + batchId).json();
        assertThat(batch.get("status").asText()).isEqualTo("in_progress");
        assertThat(batch.at("/request_counts/completed").asInt()).isLessThanOrEqualTo((int) linesDoneBefore + LINES / 2);

        http.post("/v1/batches/" + batchId + "/cancel", "{}");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                http.get("/v1/batches/" + batchId).json().get("status").asText().equals("cancelled"));
    }
}
