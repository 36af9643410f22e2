package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.apache.ignite.Ignite;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.transactions.Transaction;
import org.apache.ignite.transactions.TransactionConcurrency;
import org.apache.ignite.transactions.TransactionIsolation;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.batch.LineChunk;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.node.cli.ServeCommand;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A chunk of batch lines that a live node holds in the grid without progressing it must not stall its batch (one real
 * node, glm-tiny, grid port 29520). The last stop's 5,000-line batch through a {@code kill -9} stalled for good: a
 * survivor's "chunk done" transaction rolled back as the dead node's partitions moved, and the chunk stayed claimed by
 * that live node, which had forgotten it, so no node took it and its batch's runner waited for it forever. Here the
 * failure is made on purpose: the test holds the chunk's grid lock past the transaction timeout while its lines end, or
 * claims a chunk for the node behind its puller's back (a claim whose answer was lost). Both batches complete, every
 * line exactly once.
 */
class BatchChunkRecoveryTest {

    private static final int GRID_PORT = gridPort(29520);
    /** Four chunks; with room for one chunk at a time ({@code --max-num-seqs 16}) the others wait unclaimed. */
    private static final int LINES = 64;
    private static final int LINE_TOKENS = 120;
    /** The chunk transactions' timeout (LineChunks) and a margin: a finish that began under the lock has failed. */
    private static final long PAST_TX_TIMEOUT_MILLIS = 8_000;

    static ServeCommand.RunningNode node;
    static Http anonymous;

    private static int gridPort(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 <= 65535 ? moved : port;
    }

    @BeforeAll
    static void start() throws Exception {
        node = BatchApiTest.startReady("--num-kv-blocks", "1024", "--max-num-seqs", "16",
                "--grid-port", Integer.toString(GRID_PORT));
        anonymous = new Http(node.port());
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void aChunkWhoseDoneMarkFailsIsStillCountedAndTheBatchCompletes() throws Exception {
        String id = submit("finish");
        Cluster cluster = node.cluster().cluster();
        Ignite ignite = cluster.grid().ignite();
        IgniteCache<String, LineChunk> chunks = ignite.cache(GridCaches.BATCH_CHUNKS);
        // A running chunk, locked from before its lines end until after the node's transaction marking it done has
        // timed out (one that ended before the lock is taken is let go, and the next one locked).
        boolean held = false;
        while (!held) {
            LineChunk running = await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(10))
                    .until(() -> cluster.batches().chunks().of(id).stream().filter(c -> c.owner() != null && !c.done())
                            .findFirst().orElse(null), c -> c != null);
            int[] numbers = new int[running.size()];
            for (int i = 0; i < numbers.length; i++) {
                numbers[i] = running.number(i);
            }
            try (Transaction tx = ignite.transactions().txStart(TransactionConcurrency.PESSIMISTIC,
                    TransactionIsolation.REPEATABLE_READ, 300_000, 0)) {
                LineChunk locked = chunks.get(running.key());
                held = locked != null && !locked.done();
                if (held) {
                    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(20))
                            .until(() -> cluster.batches().results(id, numbers).size() == numbers.length);
                    Thread.sleep(PAST_TX_TIMEOUT_MILLIS);
                }
                tx.commit();
            }
        }
        assertEveryLineOnce(id);
    }

    @Test
    void aChunkClaimedForTheNodeBehindItsPullersBackIsGivenBackAndRun() throws Exception {
        String id = submit("orphan");
        Cluster cluster = node.cluster().cluster();
        UUID self = cluster.grid().localId();
        LineChunk orphan = await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(10)).until(() -> {
            for (LineChunk c : cluster.batches().chunks().of(id)) {
                if (c.owner() == null && !c.done()) {
                    LineChunk claimed = cluster.batches().chunks().claim(c.key(), self, Set.of(self));
                    if (claimed != null) {
                        return claimed;
                    }
                }
            }
            return null;
        }, c -> c != null);
        assertThat(orphan.owner()).isEqualTo(self);
        assertEveryLineOnce(id);
    }

    private static void assertEveryLineOnce(String id) throws Exception {
        // Before the fix the batch stayed in progress for good; given back and run, it ends in seconds.
        JsonNode done = BatchApiTest.waitFor(anonymous, id, "completed", "failed", "cancelled", "expired");
        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.at("/request_counts/completed").asInt()).isEqualTo(LINES);
        assertThat(done.at("/request_counts/failed").asInt()).isZero();
        String output = anonymous.get("/v1/files/" + done.get("output_file_id").asText() + "/content").body();
        Set<String> seen = new HashSet<>();
        for (String line : output.split("\n")) {
            JsonNode n = JsonBody.MAPPER.readTree(line);
            assertThat(seen.add(n.get("custom_id").asText())).as("line twice: " + line).isTrue();
            assertThat(n.at("/response/body/usage/completion_tokens").asInt()).isEqualTo(LINE_TOKENS);
        }
        assertThat(seen).hasSize(LINES);
    }

    private static String submit(String name) {
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < LINES; i++) {
            file.append("{\"custom_id\":\"").append(name).append('-').append(i)
                    .append("\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":[30,31,32,")
                    .append(20 + i % 50).append("],\"max_tokens\":").append(LINE_TOKENS)
                    .append(",\"temperature\":0,\"ignore_eos\":true}}\n");
        }
        String fileId = BatchApiTest.upload(anonymous, name + ".jsonl", file.toString(), "batch").json().get("id")
                .asText();
        return anonymous.post("/v1/batches", "{\"input_file_id\":\"" + fileId
                + "\",\"endpoint\":\"/v1/completions\",\"completion_window\":\"24h\"}").json().get("id").asText();
    }
}
