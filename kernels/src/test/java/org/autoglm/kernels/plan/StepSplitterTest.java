package org.autoglm.kernels.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.autoglm.kernels.plan.StepSplitter.Piece;
import org.autoglm.models.backend.SequenceChunk;
import org.junit.jupiter.api.Test;

class StepSplitterTest {

    @Test
    void stepsThatFitStayWhole() {
        SequenceChunk a = new SequenceChunk(1, new int[3], 0, new int[] {0}, true);
        SequenceChunk b = new SequenceChunk(2, new int[1], 5, new int[] {1, 2}, true);
        List<List<Piece>> steps = StepSplitter.split(List.of(a, b), 8, 4);
        assertThat(steps).hasSize(1);
        assertThat(steps.get(0)).extracting(Piece::chunk).containsExactly(a, b);
    }

    @Test
    void aLongPromptIsCutIntoConsecutivePiecesAndOnlyTheLastWantsLogits() {
        int[] tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        SequenceChunk prompt = new SequenceChunk(4, tokens, 2, new int[] {0, 1, 2}, true);
        SequenceChunk other = new SequenceChunk(5, new int[] {42}, 0, new int[] {3}, true);
        List<List<Piece>> steps = StepSplitter.split(List.of(other, prompt), 4, 8);

        assertThat(steps).hasSize(3);
        assertThat(steps.get(0)).extracting(Piece::index).containsExactly(0, 1);
        SequenceChunk first = steps.get(0).get(1).chunk();
        assertThat(first.tokens()).containsExactly(1, 2, 3);
        assertThat(first.startPosition()).isEqualTo(2);
        assertThat(first.wantLogits()).isFalse();
        SequenceChunk second = steps.get(1).get(0).chunk();
        assertThat(second.tokens()).containsExactly(4, 5, 6, 7);
        assertThat(second.startPosition()).isEqualTo(5);
        assertThat(second.wantLogits()).isFalse();
        SequenceChunk last = steps.get(2).get(0).chunk();
        assertThat(last.tokens()).containsExactly(8, 9, 10);
        assertThat(last.startPosition()).isEqualTo(9);
        assertThat(last.wantLogits()).isTrue();
        assertThat(last.sequenceId()).isEqualTo(4);
    }

    @Test
    void sequencesPerStepAreCapped() {
        List<SequenceChunk> decodes = List.of(
                new SequenceChunk(1, new int[1], 0, new int[] {0}, true),
                new SequenceChunk(2, new int[1], 0, new int[] {1}, true),
                new SequenceChunk(3, new int[1], 0, new int[] {2}, true));
        List<List<Piece>> steps = StepSplitter.split(decodes, 100, 2);
        assertThat(steps).hasSize(2);
        assertThat(steps.get(1)).extracting(Piece::index).containsExactly(2);
    }
}
