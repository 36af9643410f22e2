package org.autoglm.node.batch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Lines group into chunks by priority, required tags and their prompts' first block, with a bounded number held. */
class ChunkGroupingTest {

    @Test
    void linesSharingAPrefixAndPriorityFillAChunkTogether() {
        ChunkGrouping g = new ChunkGrouping(3);
        assertThat(g.add(1, "a1", 0, new long[] {1, 2, 3}, List.of())).isNull();
        assertThat(g.add(2, "b1", 0, new long[] {9, 8}, List.of())).isNull();
        assertThat(g.add(3, "a2", 5, new long[] {1, 2, 3}, List.of())).as("another priority").isNull();
        assertThat(g.add(4, "a3", 0, new long[] {1, 2, 7}, List.of())).isNull();
        ChunkGrouping.Group full = g.add(5, "a4", 0, new long[] {1, 2, 3, 4}, List.of());
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
            ChunkGrouping.Group out = g.add(i, "l" + i, 0, new long[] {i % 3 == 0 ? 7 : i}, List.of());
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

    @Test
    void linesRequiringOtherTagsNeverShareAChunk() {
        ChunkGrouping g = new ChunkGrouping(2);
        assertThat(g.add(1, "gpu", 0, new long[] {1}, List.of("gpu"))).isNull();
        assertThat(g.add(2, "any", 0, new long[] {1}, List.of())).as("same prefix, no tags").isNull();
        ChunkGrouping.Group gpu = g.add(3, "gpu2", 0, new long[] {1}, List.of("gpu"));
        assertThat(gpu.numbers()).containsExactly(1, 3);
        assertThat(gpu.requiredTags()).containsExactly("gpu");
        assertThat(g.add(4, "eu", 0, new long[] {5}, List.of("eu"))).isNull();
        List<ChunkGrouping.Group> rest = g.rest();
        assertThat(rest).as("topping up takes no line of other tags").extracting(ChunkGrouping.Group::numbers)
                .containsExactlyInAnyOrder(List.of(2), List.of(4));
    }
}
