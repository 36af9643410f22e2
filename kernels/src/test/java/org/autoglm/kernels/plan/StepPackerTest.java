package org.autoglm.kernels.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.autoglm.kernels.plan.StepPacker.PackedStep;
import org.autoglm.models.backend.SequenceChunk;
import org.junit.jupiter.api.Test;

class StepPackerTest {

    private static int[] slice(PackedStep p, int from, int count) {
        return Arrays.copyOfRange(p.data(), from, from + count);
    }

    @Test
    void packsAPrefillAndADecodeIntoOneLayout() {
        // blocks of 4 tokens; sequence 7 prefills 6 tokens, sequence 9 decodes its 10th token (position 9)
        SequenceChunk prefill = new SequenceChunk(7, new int[] {11, 12, 13, 14, 15, 16}, 0, new int[] {5, 2}, true);
        SequenceChunk decode = new SequenceChunk(9, new int[] {21}, 9, new int[] {0, 3, 8, 1}, true);
        PackedStep p = StepPacker.pack(List.of(prefill, decode), 4, 2);
        StepLayout l = p.layout();

        assertThat(l.tokens()).isEqualTo(7);
        assertThat(l.seqs()).isEqualTo(2);
        assertThat(l.blocksPerSeq()).isEqualTo(3);   // position 9 needs blocks 0..2
        assertThat(slice(p, l.tokenIds(), 7)).containsExactly(11, 12, 13, 14, 15, 16, 21);
        assertThat(slice(p, l.positions(), 7)).containsExactly(0, 1, 2, 3, 4, 5, 9);
        // position p -> table[p / 4] * 4 + p % 4
        assertThat(slice(p, l.slots(), 7)).containsExactly(20, 21, 22, 23, 8, 9, 8 * 4 + 1);
        assertThat(slice(p, l.seqStarts(), 3)).containsExactly(0, 6, 7);
        assertThat(slice(p, l.blockTables(), 6)).containsExactly(5, 2, 0, 0, 3, 8);
        // group 2: 12 rows -> 1 tile of 16; the decode token's 2 rows -> 1 tile
        assertThat(l.workItems()).isEqualTo(2);
        assertThat(slice(p, l.work(), 4)).containsExactly(0, 0, 1, 0);
        // flash tiles of 128 rows: one each
        assertThat(l.flashItems()).isEqualTo(2);
        assertThat(slice(p, l.flashWork(), 4)).containsExactly(0, 0, 1, 0);
        assertThat(slice(p, l.logitRowIndex(), 2)).containsExactly(5, 6);
        assertThat(p.logitChunk()).containsExactly(0, 1);
        assertThat(p.maxContext()).isEqualTo(10);
    }

    @Test
    void longChunksGetOneWorkItemPerSixteenRowsAndOneFlashItemPerOneHundredTwentyEight() {
        // 40 tokens x 4 heads per KV head = 160 rows = 10 tiles
        SequenceChunk c = new SequenceChunk(1, new int[40], 0, new int[] {0, 1, 2}, false);
        PackedStep p = StepPacker.pack(List.of(c), 16, 4);
        assertThat(p.layout().workItems()).isEqualTo(10);
        assertThat(slice(p, p.layout().work(), 6)).containsExactly(0, 0, 0, 1, 0, 2);
        // and one flash work item per 128 rows
        assertThat(p.layout().flashItems()).isEqualTo(2);
        assertThat(slice(p, p.layout().flashWork(), 4)).containsExactly(0, 0, 0, 1);
        assertThat(p.layout().logitRows()).isZero();
    }

    @Test
    void decodeStepsWithoutAGraphHaveNoFlashItems() {
        // one token per sequence: split-K paged attention, even where flash attention is on
        SequenceChunk a = new SequenceChunk(1, new int[] {5}, 30, new int[] {0, 1}, true);
        SequenceChunk b = new SequenceChunk(2, new int[] {6}, 3, new int[] {2}, true);
        PackedStep p = StepPacker.pack(List.of(a, b), 16, 16);
        assertThat(p.layout().workItems()).isEqualTo(2);
        assertThat(p.layout().flashItems()).isZero();
    }

    @Test
    void decodeStepsArePaddedToTheGraphBucket() {
        SequenceChunk a = new SequenceChunk(1, new int[] {5}, 3, new int[] {4}, true);
        SequenceChunk b = new SequenceChunk(2, new int[] {6}, 17, new int[] {1, 2, 3}, true);
        PackedStep p = StepPacker.packDecode(List.of(a, b), new GraphBuckets.Key(4, 8), 8, 2);
        StepLayout l = p.layout();

        assertThat(l).isEqualTo(new StepLayout(4, 4, 8, 4, 0, 4));
        assertThat(slice(p, l.tokenIds(), 4)).containsExactly(5, 6, 0, 0);
        assertThat(slice(p, l.slots(), 4)).containsExactly(4 * 8 + 3, 3 * 8 + 1, -1, -1);
        assertThat(slice(p, l.seqStarts(), 5)).containsExactly(0, 1, 2, 2, 2);   // padding sequences are empty
        assertThat(slice(p, l.blockTables() + 8, 3)).containsExactly(1, 2, 3);
        assertThat(slice(p, l.work(), 8)).containsExactly(0, 0, 1, 0, 2, 0, 3, 0);
        assertThat(slice(p, l.logitRowIndex(), 4)).containsExactly(0, 1, 2, 3);
        assertThat(p.logitChunk()).containsExactly(0, 1, -1, -1);
    }

    @Test
    void aBlockTableTooShortForThePositionsIsRejected() {
        SequenceChunk c = new SequenceChunk(3, new int[] {1, 2}, 3, new int[] {0}, true);
        assertThatThrownBy(() -> StepPacker.pack(List.of(c), 4, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sequence 3 reaches position 4 but its block table has 1 blocks of 4 tokens");
    }

    @Test
    void layoutOffsetsFollowEachOther() {
        StepLayout l = new StepLayout(10, 3, 5, 7, 3, 2);
        assertThat(l.positions()).isEqualTo(10);
        assertThat(l.slots()).isEqualTo(20);
        assertThat(l.seqStarts()).isEqualTo(30);
        assertThat(l.blockTables()).isEqualTo(34);
        assertThat(l.work()).isEqualTo(49);
        assertThat(l.flashWork()).isEqualTo(63);
        assertThat(l.logitRowIndex()).isEqualTo(69);
        assertThat(l.totalInts()).isEqualTo(71);
    }
}
