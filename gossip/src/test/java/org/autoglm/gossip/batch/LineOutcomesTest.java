package org.autoglm.gossip.batch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.autoglm.gossip.TestGrid;
import org.autoglm.gossip.grid.GridNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A chunk's line outcomes stored in one write on a real Ignite node (grid port 29510): a line that has an outcome keeps
 * its first one, and each line's answer says whether the outcome it has now is an error. (Stored from other nodes in
 * {@code BatchAcrossRejoinTest} and {@code BatchProcessesIT}.)
 */
class LineOutcomesTest {

    private static final int SIZE = 1;
    private static final int BASE = TestGrid.offsetPort(29510, SIZE);

    private final List<GridNode> grids = new ArrayList<>();

    @AfterEach
    void stop() {
        grids.forEach(GridNode::close);
    }

    @Test
    void aLineKeepsItsFirstOutcomeWhenOutcomesAreStoredTogether() {
        grids.addAll(TestGrid.start(BASE, SIZE, i -> GridNode.start(TestGrid.config("o" + i, BASE + i, BASE, SIZE))));
        BatchStore store = new BatchStore(grids.get(0));
        // Lines 0..15 of a chunk that ran on a node which died after storing some outcomes: 3 ok, 5 an error.
        Map<Integer, Boolean> before = store.recordAll("batch_o", Map.of(
                3, new LineResult(false, "{\"first\":3}"), 5, new LineResult(true, "{\"first\":5}")));
        assertThat(before).containsExactlyInAnyOrderEntriesOf(Map.of(3, false, 5, true));

        Map<Integer, LineResult> rerun = new java.util.HashMap<>();
        for (int n = 0; n < 16; n++) {
            rerun.put(n, new LineResult(n == 7, "{\"again\":" + n + "}"));
        }
        Map<Integer, Boolean> now = store.recordAll("batch_o", rerun);
        assertThat(now).hasSize(16);
        assertThat(now.get(3)).as("its first outcome, ok").isFalse();
        assertThat(now.get(5)).as("its first outcome, an error, though the re-run succeeded").isTrue();
        assertThat(now.get(7)).as("stored now, an error").isTrue();
        assertThat(now.get(0)).isFalse();

        int[] all = java.util.stream.IntStream.range(0, 16).toArray();
        Map<Integer, LineResult> stored = store.results("batch_o", all);
        assertThat(stored).hasSize(16);
        assertThat(stored.get(3).json()).isEqualTo("{\"first\":3}");
        assertThat(stored.get(5).json()).isEqualTo("{\"first\":5}");
        assertThat(stored.get(0).json()).isEqualTo("{\"again\":0}");
        assertThat(store.counts("batch_o")).containsExactly(14, 2);
    }
}
