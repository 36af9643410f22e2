package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import org.autoglm.node.cli.ServeCommand;
import org.autoglm.node.security.JwtVerifierTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The order between batches holds for their lines (one real node, glm-tiny, JWT on): with room for one chunk at a time
 * ({@code --max-num-seqs 16}), two users' batches alternate instead of the older one running through, a batch whose
 * lines have a higher priority goes before one already running, and a cancelled batch leaves no line record behind.
 * Counted from the batches' own counts, not timed.
 */
class BatchOrderTest {

    private static final int GRID_PORT = gridPort(21502);
    /** Four chunks a batch. */
    private static final int LINES = 96;
    /** Long enough for a chunk to take many engine steps: the batches' counts (published each second) keep up. */
    private static final int LINE_TOKENS = 200;

    /** Moved by the suite's port offset where the communication port (+1000) still fits. */
    private static int gridPort(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 <= 65535 ? moved : port;
    }

    @TempDir
    static Path dir;
    static ServeCommand.RunningNode node;
    static Http anonymous;

    @BeforeAll
    static void start() throws Exception {
        node = BatchApiTest.startReady("--num-kv-blocks", "1024", "--max-num-seqs", "16",
                "--grid-port", Integer.toString(GRID_PORT), "--jwt-secret-file", JwtVerifierTest.secretFile(dir).toString());
        anonymous = new Http(node.port());
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static String file(String name, int priority) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < LINES; i++) {
            out.append("{\"custom_id\":\"").append(name).append('-').append(i)
                    .append("\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":[30,31,32,33,34,")
                    .append(20 + i % 50).append("],\"max_tokens\":").append(LINE_TOKENS)
                    .append(",\"temperature\":0,\"ignore_eos\":true,\"priority\":").append(priority).append("}}\n");
        }
        return out.toString();
    }

    private static String submit(Http as, String name, int priority) {
        return validated(as, create(as, upload(as, name, priority)));
    }

    private static String upload(Http as, String name, int priority) {
        return BatchApiTest.upload(as, name + ".jsonl", file(name, priority), "batch").json().get("id").asText();
    }

    private static String create(Http as, String fileId) {
        String id = as.post("/v1/batches", "{\"input_file_id\":\"" + fileId
                + "\",\"endpoint\":\"/v1/completions\",\"completion_window\":\"24h\"}").json().get("id").asText();
        return id;
    }

    private static String validated(Http as, String id) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> !as.get("/v1/batches/" + id).json().get("status").asText().equals("validating"));
        return id;
    }

    private static int completed(Http as, String id) {
        return as.get("/v1/batches/" + id).json().at("/request_counts/completed").asInt();
    }

    /** The other batch's completed lines when {@code id} completes. */
    private static int otherWhenDone(Http as, String id, Http otherAs, String other) {
        int[] seen = new int[1];
        await().atMost(Duration.ofSeconds(300)).pollInterval(Duration.ofMillis(50)).until(() -> {
            seen[0] = completed(otherAs, other);
            return as.get("/v1/batches/" + id).json().get("status").asText().equals("completed");
        });
        return seen[0];
    }

    @Test
    void twoUsersBatchesShareTheNodeAndAHigherPriorityBatchGoesFirst() throws Exception {
        Http bob = anonymous.withToken(BatchApiTest.token("bob", "user"));
        Http alice = anonymous.withToken(BatchApiTest.token("alice", "user"));

        // Both files are in before either batch starts: a fast node could otherwise run bob's whole batch while alice
        // is still uploading, which says nothing about sharing.
        String bobsFile = upload(bob, "bob-first", 0);
        String alicesFile = upload(alice, "alice-later", 0);
        String bobs = create(bob, bobsFile);
        String alices = validated(alice, create(alice, alicesFile));
        validated(bob, bobs);
        int aliceDone = otherWhenDone(bob, bobs, alice, alices);
        assertThat(aliceDone).as("alice's batch, sent after bob's, ran beside it (oldest first: 0 lines)")
                .isGreaterThanOrEqualTo(LINES / 4);
        BatchApiTest.waitFor(alice, alices, "completed");

        String low = submit(bob, "bob-low", 5);
        String high = submit(alice, "alice-high", 0);
        int lowDone = otherWhenDone(alice, high, bob, low);
        assertThat(lowDone).as("bob's low-priority batch waited for alice's (alternating: about all of it)")
                .isLessThan(LINES * 3 / 4);
        assertThat(bob.get("/v1/batches/" + low).json().get("status").asText()).isEqualTo("in_progress");
        BatchApiTest.waitFor(bob, low, "completed");
    }

    @Test
    void aCancelledBatchLeavesNoLineRecordInTheGrid() throws Exception {
        Http carol = anonymous.withToken(BatchApiTest.token("carol", "user"));
        String id = submit(carol, "carol", 0);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50)).until(() -> completed(carol, id) > 0);
        assertThat(carol.post("/v1/batches/" + id + "/cancel", "").status()).isEqualTo(200);
        JsonNode cancelled = BatchApiTest.waitFor(carol, id, "cancelled");
        assertThat(cancelled.at("/request_counts/total").asInt()).isEqualTo(LINES);
        // Lines that were running when the batch ended finish (or are cut off) after its files were written.
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10)).until(
                () -> node.cluster().cluster().batches().lineRecords(id) == 0);
    }
}
