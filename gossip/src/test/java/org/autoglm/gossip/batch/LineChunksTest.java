package org.autoglm.gossip.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.autoglm.gossip.TestGrid;
import org.autoglm.gossip.grid.GridNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Chunks of batch lines on three real Ignite nodes: one node at a time runs a chunk, a chunk whose node died is
 * claimed by another, only its owner marks it done, and a done chunk is never claimed again.
 */
class LineChunksTest {

    private static final int BASE = gridPort(21530);
    private static final int SIZE = 3;

    private final List<GridNode> grids = new ArrayList<>();

    /** Moved by the suite's port offset where the communication port (+1000) still fits. */
    private static int gridPort(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + SIZE + 1000 <= 65535 ? moved : port;
    }

    @AfterEach
    void stop() {
        grids.forEach(GridNode::close);
    }

    @Test
    void aChunkRunsOnOneLiveNodeAndMovesOnlyWhenItsNodeIsGone() {
        // Failure detection of 10 s: on a loaded machine the test's 1.5 s let Ignite stop a starved member; the node
        // that dies here leaves cleanly, which the others see at once.
        grids.addAll(TestGrid.start(BASE, SIZE, i -> GridNode.start(TestGrid.config("c" + i, BASE + i, BASE, SIZE)
                .andThen(config -> config.failureDetection = Duration.ofSeconds(10)))));
        List<LineChunks> chunks = grids.stream().map(g -> new BatchStore(g).chunks()).toList();
        UUID b = grids.get(1).localId();
        UUID c = grids.get(2).localId();
        chunks.get(0).add(new LineChunk("batch_x", 0, "alice", new int[] {1, 2, 3}, new String[] {"l1", "l2", "l3"}));
        String key = LineChunk.key("batch_x", 0);
        assertThat(chunks.get(2).unfinished()).extracting(LineChunk::key).containsExactly(key);

        LineChunk mine = chunks.get(1).claim(key, b, alive(grids.get(1)));
        assertThat(mine.owner()).isEqualTo(b);
        assertThat(mine.size()).isEqualTo(3);
        assertThat(mine.text(2)).isEqualTo("l3");
        assertThat(chunks.get(2).claim(key, c, alive(grids.get(2)))).as("b is alive and runs it").isNull();
        assertThat(chunks.get(2).finish(key, c, 3, 0)).as("only its owner marks it done").isFalse();

        grids.get(1).close(); // b dies with the chunk
        await().atMost(Duration.ofSeconds(30)).until(() -> !grids.get(2).isAlive(b));
        LineChunk taken = chunks.get(2).claim(key, c, alive(grids.get(2)));
        assertThat(taken).as("a dead node's chunk is claimed again").isNotNull();
        assertThat(taken.owner()).isEqualTo(c);

        assertThat(chunks.get(2).finish(key, c, 2, 1)).isTrue();
        LineChunk done = chunks.get(0).get(Set.of(key)).get(key);
        assertThat(done.done()).isTrue();
        assertThat(done.succeeded()).isEqualTo(2);
        assertThat(done.failed()).isEqualTo(1);
        assertThat(chunks.get(0).claim(key, grids.get(0).localId(), alive(grids.get(0)))).as("done: never again").isNull();
        assertThat(chunks.get(0).unfinished()).isEmpty();
        assertThat(chunks.get(0).of("batch_x")).hasSize(1);
        chunks.get(0).remove(List.of(key));
        assertThat(chunks.get(2).of("batch_x")).isEmpty();
    }

    private static Set<UUID> alive(GridNode grid) {
        return new HashSet<>(grid.serverNodeIds());
    }
}
