package org.autoglm.models.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.autoglm.models.djl.GlmParityTest.maxAbsDifference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.autoglm.models.backend.SequenceChunk;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One forward over several sequences gives each the logits it gets alone, and the backend honours the engine's
 * block tables: shared prefix blocks and copied blocks give the same continuation as a private cache.
 */
class PagedBatchingTest {

    private static final int BLOCK_SIZE = 4;
    private static final int NUM_BLOCKS = 128;
    private static final float SAME = 2e-5f;

    private static DjlBackend backend;
    private static List<ReferenceFixture.Case> cases;

    @BeforeAll
    static void load() {
        ReferenceFixture fixture = ReferenceFixture.load("glm4-tiny");
        cases = fixture.cases();
        backend = DjlBackend.load(fixture.modelDir());
        backend.allocateKvCache(NUM_BLOCKS, BLOCK_SIZE);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    @Test
    void threeSequencesInOneForwardGetTheLogitsTheyGetAlone() {
        KvBlocks blocks = new KvBlocks(NUM_BLOCKS);
        List<SequenceChunk> batch = new ArrayList<>();
        List<float[]> alone = new ArrayList<>();
        for (int i : new int[] {0, 1, 3}) { // 30, 15 and 1 tokens
            int[] ids = cases.get(i).inputIds();
            alone.add(cases.get(i).lastLogits());
            batch.add(new SequenceChunk(i, ids, 0, blocks.table(ids.length, BLOCK_SIZE), true));
        }

        float[][] logits = backend.forward(batch);

        for (int s = 0; s < batch.size(); s++) {
            assertThat(maxAbsDifference(logits[s], alone.get(s))).as("sequence %d", s).isLessThan(1e-4f);
        }
    }

    @Test
    void aPureDecodeStepOfSequencesWithDifferentContextsIsBatchedWithTheSameLogits() {
        // Each case's prompt but its last token is in the cache; then all of them decode that token in one step,
        // which runs attention for the whole batch at once over contexts padded to the longest.
        int[] which = {0, 1, 2, 3, 4, 5}; // contexts of 1 to 30+ tokens, spread over non-adjacent blocks
        KvBlocks blocks = new KvBlocks(NUM_BLOCKS);
        List<SequenceChunk> decode = new ArrayList<>();
        for (int i : which) {
            int[] ids = cases.get(i).inputIds();
            int[] table = blocks.table(ids.length, BLOCK_SIZE);
            if (ids.length > 1) {
                backend.forward(List.of(new SequenceChunk(i, Arrays.copyOf(ids, ids.length - 1), 0, table, false)));
            }
            decode.add(new SequenceChunk(i, new int[] {ids[ids.length - 1]}, ids.length - 1, table, true));
        }

        float[][] logits = backend.forward(decode);

        for (int s = 0; s < which.length; s++) {
            assertThat(maxAbsDifference(logits[s], cases.get(which[s]).lastLogits())).as("sequence %d", s)
                    .isLessThan(1e-4f);
        }
    }

    @Test
    void decodeAndPrefillChunksMixInOneStep() {
        int[] a = cases.get(0).inputIds();
        int[] b = cases.get(2).inputIds();
        KvBlocks blocks = new KvBlocks(NUM_BLOCKS);
        int[] tableA = blocks.table(a.length, BLOCK_SIZE);
        int[] tableB = blocks.table(b.length, BLOCK_SIZE);
        // a: everything but its last token first; then a decodes its last token while b prefills in two chunks
        backend.forward(List.of(new SequenceChunk(1, Arrays.copyOf(a, a.length - 1), 0, tableA, false)));
        int half = b.length / 2;
        float[][] step = backend.forward(List.of(
                new SequenceChunk(1, new int[] {a[a.length - 1]}, a.length - 1, tableA, true),
                new SequenceChunk(2, Arrays.copyOf(b, half), 0, tableB, false)));
        float[][] last = backend.forward(List.of(new SequenceChunk(2, Arrays.copyOfRange(b, half, b.length), half,
                tableB, true)));

        assertThat(step[1]).as("no logits asked for").isNull();
        assertThat(maxAbsDifference(step[0], cases.get(0).lastLogits())).isLessThan(1e-4f);
        assertThat(maxAbsDifference(last[0], cases.get(2).lastLogits())).isLessThan(1e-4f);
    }

    @Test
    void aSequenceReusingAnotherSequencesPrefixBlocksContinuesLikeAFreshOne() {
        int[] prompt = cases.get(2).inputIds(); // 42 tokens
        int shared = 32;                        // 8 full blocks
        KvBlocks blocks = new KvBlocks(NUM_BLOCKS);
        int[] first = blocks.table(prompt.length, BLOCK_SIZE);
        backend.forward(List.of(new SequenceChunk(1, prompt, 0, first, true)));

        // the second sequence maps the first's 8 prefix blocks and computes only its own tail
        int[] second = blocks.table(prompt.length, BLOCK_SIZE);
        System.arraycopy(first, 0, second, 0, shared / BLOCK_SIZE);
        float[] logits = backend.forward(List.of(new SequenceChunk(2, Arrays.copyOfRange(prompt, shared,
                prompt.length), shared, second, true)))[0];

        assertThat(maxAbsDifference(logits, cases.get(2).lastLogits())).isLessThan(1e-4f);
    }

    @Test
    void copiedBlocksHoldTheSameKeysAndValues() {
        int[] prompt = cases.get(0).inputIds(); // 30 tokens: 7 full blocks and a partial one
        KvBlocks blocks = new KvBlocks(NUM_BLOCKS);
        int[] original = blocks.table(prompt.length + 1, BLOCK_SIZE);
        float[] expected = backend.forward(List.of(new SequenceChunk(1, prompt, 0, original, true)))[0];
        int next = GlmParityTest.argmax(expected);
        float[] continued = backend.forward(List.of(new SequenceChunk(1, new int[] {next}, prompt.length,
                original, true)))[0];

        int[] copy = blocks.table(prompt.length + 1, BLOCK_SIZE);
        backend.copyBlocks(original, copy);
        float[] fromCopy = backend.forward(List.of(new SequenceChunk(3, new int[] {next}, prompt.length, copy,
                true)))[0];

        assertThat(maxAbsDifference(fromCopy, continued)).isLessThan(SAME);
    }

    @Test
    void longChunksAttendInBlocksOfQueriesWithTheSameResult() {
        ReferenceFixture fixture = ReferenceFixture.load("glm-tiny");
        // 4 heads x 56 keys x 2 rows: the longest prompt is attended two queries at a time
        try (DjlBackend blocked = DjlBackend.load(fixture.modelDir(), DjlBackend.Options.defaults(), 4 * 56 * 2)) {
            blocked.allocateKvCache(NUM_BLOCKS, BLOCK_SIZE);
            for (ReferenceFixture.Case c : fixture.cases()) {
                int[] ids = c.inputIds();
                int half = ids.length / 2;
                int[] table = new KvBlocks(NUM_BLOCKS).table(ids.length, BLOCK_SIZE);
                if (half > 0) {
                    blocked.forward(List.of(new SequenceChunk(1, Arrays.copyOf(ids, half), 0, table, false)));
                }
                float[] logits = blocked.forward(List.of(new SequenceChunk(1, Arrays.copyOfRange(ids, half,
                        ids.length), half, table, true)))[0];
                assertThat(maxAbsDifference(logits, c.lastLogits())).as(c.toString()).isLessThan(1e-4f);
            }
        }
    }

    @Test
    void blockTablesTokensAndCopiesOutsideThePoolAreRejected() {
        int[] ids = cases.get(0).inputIds();
        assertThatThrownBy(() -> backend.forward(List.of(new SequenceChunk(5, ids, 0, new int[] {1, 2}, true))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sequence 5 needs 8 KV blocks");
        assertThatThrownBy(() -> backend.forward(List.of(new SequenceChunk(6, new int[] {1}, 0,
                new int[] {NUM_BLOCKS}, true))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside the pool of " + NUM_BLOCKS);
        assertThatThrownBy(() -> backend.forward(List.of(new SequenceChunk(7, new int[] {99999}, 0,
                new int[] {0}, true))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id 99999");
        assertThatThrownBy(() -> backend.copyBlocks(new int[] {0}, new int[] {NUM_BLOCKS + 3}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("KV block " + (NUM_BLOCKS + 3));
    }

    @Test
    void maxKvBlocksFollowsTheConfiguredBudget() {
        ReferenceFixture fixture = ReferenceFixture.load("glm-tiny");
        long perBlock = 2L * 2 * 16 * 2 * 16 * 4; // K and V, 2 layers, 16 tokens, 2 kv heads, head dim 16, fp32
        try (DjlBackend small = DjlBackend.load(fixture.modelDir(),
                DjlBackend.Options.defaults().withKvCacheBytes(10 * perBlock))) {
            assertThat(small.maxKvBlocks(16)).isEqualTo(10);
            assertThat(small.maxKvBlocks(8)).isEqualTo(20);
        }
        assertThat(backend.maxKvBlocks(16)).isPositive();
    }
}
