package org.autoglm.node.batch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Lines group into chunks by priority and their prompts' first block, with a bounded number held. */
class ChunkGroupingTest {

    @Test
    void linesSharingAPrefixAndPriorityFillAChunkTogether() {
        ChunkGrouping g = new ChunkGrouping(3);
        assertThat(g.add(1, "a1", 0, new long[] {1, 2, 3})).isNull();
        assertThat(g.add(2, "b1", 0, new long[] {9, 8})).isNull();
        assertThat(g.add(3, "a2", 5, new long[] {1, 2, 3})).as("another priority").isNull();
        assertThat(g.add(4, "a3", 0, new long[] {1, 2, 7})).isNull();
        ChunkGrouping.Group full = g.add(5, "a4", 0, new long[] {1, 2, 3, 4});
        assertThat(full.numbers()).containsExactly(1, 4, 5);
        assertThat(full.texts()).containsExactly("a1", "a3", "a4");
        assertThat(full.prefix()).as("the blocks all three share").containsExactly(1, 2);
        assertThat(full.priority()).isZero();
        List<ChunkGrouping.Group> rest = g.rest();
        assertThat(rest).extracting(ChunkGrouping.Group::numbers).containsExactly(List.of(2), List.of(3));
        assertThat(rest.get(1).priority()).isEqualTo(5);
    }

    @Test
    void pastTheBoundTheBiggestGroupLeavesEarlyToppedUpWithLinesOfItsPriority() {
        ChunkGrouping g = new ChunkGrouping(100);
        List<ChunkGrouping.Group> left = new ArrayList<>();
        for (int i = 0; i <= ChunkGrouping.MAX_BUFFERED; i++) {
            ChunkGrouping.Group out = g.add(i, "l" + i, 0, new long[] {i % 3 == 0 ? 7 : i});
            if (out != null) {
                left.add(out);
            }
        }
        assertThat(left).hasSize(1);
        assertThat(left.get(0).numbers()).hasSize(100);
        assertThat(left.get(0).prefix()).as("most of its lines share block 7").containsExactly(7);
        List<ChunkGrouping.Group> rest = g.rest();
        assertThat(rest.stream().mapToInt(x -> x.numbers().size()).sum() + 100).isEqualTo(ChunkGrouping.MAX_BUFFERED + 1);
        assertThat(rest).allSatisfy(x -> assertThat(x.numbers().size()).isLessThanOrEqualTo(100));
        assertThat(rest.get(0).numbers()).as("lines of no common prefix still travel many to a chunk").hasSize(100);
        assertThat(rest.get(0).prefix()).isEmpty();
    }
}
