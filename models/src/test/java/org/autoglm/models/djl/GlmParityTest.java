package org.autoglm.models.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.autoglm.models.backend.SequenceChunk;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The DJL backend computes the same function as Hugging Face transformers on both reference checkpoints:
 * last-position logits, top-5 at every prompt position (fed token by token through the paged cache with a
 * small block size and scattered block ids) and 24 greedy tokens, for every reference case.
 */
class GlmParityTest {

    static final float LOGIT_TOLERANCE = 1e-4f;
    static final int BLOCK_SIZE = 4;
    static final int NUM_BLOCKS = 96;

    private static final Map<String, DjlBackend> BACKENDS = new HashMap<>();

    static Stream<Arguments> cases() {
        return Stream.of("glm-tiny", "glm4-tiny").flatMap(name -> {
            ReferenceFixture fixture = ReferenceFixture.load(name);
            return fixture.cases().stream().map(c -> Arguments.of(name, c));
        });
    }

    static DjlBackend backend(String fixture) {
        return BACKENDS.computeIfAbsent(fixture, name -> {
            DjlBackend backend = DjlBackend.load(ReferenceFixture.load(name).modelDir());
            backend.allocateKvCache(NUM_BLOCKS, BLOCK_SIZE);
            return backend;
        });
    }

    @AfterAll
    static void closeBackends() {
        BACKENDS.values().forEach(DjlBackend::close);
        BACKENDS.clear();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void lastLogitsMatchTheReference(String fixture, ReferenceFixture.Case c) {
        DjlBackend backend = backend(fixture);
        int[] table = new KvBlocks(NUM_BLOCKS).table(c.inputIds().length, BLOCK_SIZE);

        float[] logits = backend.forward(List.of(new SequenceChunk(1, c.inputIds(), 0, table, true)))[0];

        assertThat(logits).hasSize(c.lastLogits().length);
        assertThat(maxAbsDifference(logits, c.lastLogits())).isLessThan(LOGIT_TOLERANCE);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void topFiveAtEveryPositionWhenFedTokenByToken(String fixture, ReferenceFixture.Case c) {
        DjlBackend backend = backend(fixture);
        int[] ids = c.inputIds();
        int[] table = new KvBlocks(NUM_BLOCKS).table(ids.length, BLOCK_SIZE);

        for (int p = 0; p < ids.length; p++) {
            SequenceChunk chunk = new SequenceChunk(1, new int[] {ids[p]}, p, table, true);
            float[] logits = backend.forward(List.of(chunk))[0];

            assertTopFive(logits, c.top5Ids()[p], c.top5Logits()[p], "position " + p);
        }
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void chunkedPrefillGivesTheSameLogitsAsTheWholePrompt(String fixture, ReferenceFixture.Case c) {
        DjlBackend backend = backend(fixture);
        int[] ids = c.inputIds();
        int[] table = new KvBlocks(NUM_BLOCKS).table(ids.length, BLOCK_SIZE);

        int start = 0;
        int[] pieces = {5, 3, 7};
        for (int i = 0; start < ids.length; i++) {
            int end = Math.min(ids.length, start + (i < pieces.length ? pieces[i] : ids.length));
            int[] piece = Arrays.copyOfRange(ids, start, end);
            float[] logits = backend.forward(List.of(new SequenceChunk(1, piece, start, table, true)))[0];
            assertTopFive(logits, c.top5Ids()[end - 1], c.top5Logits()[end - 1], "piece ending at " + end);
            if (end == ids.length) {
                assertThat(maxAbsDifference(logits, c.lastLogits())).isLessThan(LOGIT_TOLERANCE);
            }
            start = end;
        }
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void greedyDecodingReproducesTheReferenceTokens(String fixture, ReferenceFixture.Case c) {
        int[] generated = greedy(backend(fixture), c.inputIds(), c.greedyIds().length);

        assertThat(generated).containsExactly(c.greedyIds());
    }

    /** Prompt in one chunk, then one token per step through the cache; argmax with the lowest id on ties. */
    static int[] greedy(DjlBackend backend, int[] prompt, int count) {
        int[] table = new KvBlocks(NUM_BLOCKS).table(prompt.length + count, BLOCK_SIZE);
        int[] out = new int[count];
        float[] logits = backend.forward(List.of(new SequenceChunk(7, prompt, 0, table, true)))[0];
        for (int i = 0; i < count; i++) {
            out[i] = argmax(logits);
            if (i + 1 < count) {
                SequenceChunk next = new SequenceChunk(7, new int[] {out[i]}, prompt.length + i, table, true);
                logits = backend.forward(List.of(next))[0];
            }
        }
        return out;
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    static float maxAbsDifference(float[] a, float[] b) {
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /**
     * Our top-5 ids equal the reference's, in order. Where the reference's own logits of two neighbours are
     * closer than the tolerance, either order is the same answer, so the check is on values there.
     */
    static void assertTopFive(float[] logits, int[] refIds, float[] refLogits, String where) {
        for (int j = 0; j < refIds.length; j++) {
            assertThat(logits[refIds[j]]).as(where + ": logit of reference top-%d id %d", j + 1, refIds[j])
                    .isCloseTo(refLogits[j], within(LOGIT_TOLERANCE));
        }
        int[] ours = topIds(logits, refIds.length);
        for (int j = 0; j < refIds.length; j++) {
            boolean tiedWithNeighbour = (j > 0 && refLogits[j - 1] - refLogits[j] < 2 * LOGIT_TOLERANCE)
                    || (j + 1 < refIds.length && refLogits[j] - refLogits[j + 1] < 2 * LOGIT_TOLERANCE);
            if (!tiedWithNeighbour) {
                assertThat(ours[j]).as(where + ": top-%d id", j + 1).isEqualTo(refIds[j]);
            }
        }
    }

    static int[] topIds(float[] logits, int k) {
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        int[] top = new int[k];
        for (int i = 0; i < k; i++) {
            top[i] = order[i];
        }
        return top;
    }
}
