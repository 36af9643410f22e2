package org.autoglm.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.autoglm.kernels.Fixtures;
import org.autoglm.models.backend.SequenceChunk;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU backend in f32 computes the same function as Hugging Face transformers on both reference checkpoints: the
 * last-position logits within 1e-4, top-5 at every prompt position fed token by token through a paged cache with small
 * scattered blocks, chunked prefill, and the 24 greedy tokens exactly; also when the cases run side by side in one
 * batch, and after {@code copyBlocks}. Two threads, so the parallel loops run even on tiny matrices' neighbours.
 */
class CpuParityTest {

    static final float TOLERANCE = 1e-4f;
    static final int BLOCK_SIZE = 4;
    static final int NUM_BLOCKS = 400;

    private static final Map<String, CpuBackend> BACKENDS = new HashMap<>();

    record Case(String fixture, String text, int[] ids, float[] lastLogits, int[][] top5, int[] greedy) {
        @Override
        public String toString() {
            return fixture + " '" + (text.length() > 24 ? text.substring(0, 24) + "..." : text) + "'";
        }
    }

    static List<Case> load(String fixture) {
        try {
            JsonNode root = new ObjectMapper().readTree(Fixtures.dir().resolve(fixture + ".reference.json").toFile());
            List<Case> cases = new ArrayList<>();
            for (JsonNode c : root.get("cases")) {
                int[][] top5 = new int[c.get("top5_ids").size()][];
                for (int i = 0; i < top5.length; i++) top5[i] = ints(c.get("top5_ids").get(i));
                float[] logits = new float[c.get("last_logits").size()];
                for (int i = 0; i < logits.length; i++) logits[i] = (float) c.get("last_logits").get(i).asDouble();
                cases.add(new Case(fixture, c.get("text").asText(), ints(c.get("input_ids")), logits, top5,
                        ints(c.get("greedy_ids"))));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    static Stream<Arguments> cases() {
        return Stream.of("glm-tiny", "glm4-tiny").flatMap(f -> load(f).stream()).map(Arguments::of);
    }

    static CpuBackend backend(String fixture) {
        return BACKENDS.computeIfAbsent(fixture, name -> {
            CpuBackend b = CpuBackend.load(Fixtures.model(name), CpuOptions.defaults().withThreads(2));
            b.allocateKvCache(NUM_BLOCKS, BLOCK_SIZE);
            return b;
        });
    }

    @AfterAll
    static void close() {
        BACKENDS.values().forEach(CpuBackend::close);
        BACKENDS.clear();
    }

    /** Block ids handed out from the top down, every other one first: not in order, not contiguous. */
    static int[] table(int firstBlock, int positions) {
        int[] t = new int[(positions + BLOCK_SIZE - 1) / BLOCK_SIZE];
        for (int i = 0; i < t.length; i++) t[i] = NUM_BLOCKS - 1 - firstBlock - 2 * i;
        return t;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void lastLogitsAndTopFiveMatchTheReference(Case c) {
        CpuBackend b = backend(c.fixture());
        int[] tbl = table(0, c.ids().length);
        float[] logits = b.forward(List.of(new SequenceChunk(1, c.ids(), 0, tbl, true)))[0];
        assertThat(maxDiff(logits, c.lastLogits())).isLessThan(TOLERANCE);

        int[] tokenByToken = table(1, c.ids().length);
        for (int p = 0; p < c.ids().length; p++) {
            float[] step = b.forward(List.of(new SequenceChunk(2, new int[] {c.ids()[p]}, p, tokenByToken, true)))[0];
            assertThat(argmax(step)).as("position %d", p).isEqualTo(c.top5()[p][0]);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void chunkedPrefillGivesTheWholePromptsLogits(Case c) {
        CpuBackend b = backend(c.fixture());
        int[] tbl = table(0, c.ids().length);
        int[] pieces = {5, 3, 7};
        float[] logits = null;
        for (int i = 0, start = 0; start < c.ids().length; i++) {
            int end = Math.min(c.ids().length, start + (i < pieces.length ? pieces[i] : c.ids().length));
            logits = b.forward(List.of(new SequenceChunk(1, Arrays.copyOfRange(c.ids(), start, end), start, tbl,
                    end == c.ids().length)))[0];
            start = end;
        }
        assertThat(maxDiff(logits, c.lastLogits())).isLessThan(TOLERANCE);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void greedyDecodingReproducesTheReferenceTokens(Case c) {
        assertThat(greedy(backend(c.fixture()), c.ids(), c.greedy().length)).containsExactly(c.greedy());
    }

    @Test
    void allCasesInOneBatchGiveEachCasesOwnTokens() {
        for (String fixture : List.of("glm-tiny", "glm4-tiny")) {
            CpuBackend b = backend(fixture);
            List<Case> cases = load(fixture);
            int steps = cases.get(0).greedy().length;
            int[][] tables = new int[cases.size()][];
            int[][] generated = new int[cases.size()][steps];
            List<SequenceChunk> chunks = new ArrayList<>();
            for (int i = 0; i < cases.size(); i++) {
                tables[i] = table(i * 50, cases.get(i).ids().length + steps);
                chunks.add(new SequenceChunk(i, cases.get(i).ids(), 0, tables[i], true));
            }
            for (int s = 0; s < steps; s++) {
                float[][] logits = b.forward(chunks);
                chunks.clear();
                for (int i = 0; i < cases.size(); i++) {
                    generated[i][s] = argmax(logits[i]);
                    chunks.add(new SequenceChunk(i, new int[] {generated[i][s]}, cases.get(i).ids().length + s,
                            tables[i], true));
                }
            }
            for (int i = 0; i < cases.size(); i++) {
                assertThat(generated[i]).as(cases.get(i).toString()).containsExactly(cases.get(i).greedy());
            }
        }
    }

    @Test
    void copiedBlocksCarryTheKvOfASharedPrefix() {
        Case c = load("glm4-tiny").get(0);
        CpuBackend b = backend("glm4-tiny");
        int[] first = table(0, c.ids().length);
        b.forward(List.of(new SequenceChunk(1, c.ids(), 0, first, true)));
        int[] second = table(1, c.ids().length);
        b.copyBlocks(first, second);
        int last = c.ids().length - 1;
        float[] logits = b.forward(List.of(new SequenceChunk(2, new int[] {c.ids()[last]}, last, second, true)))[0];
        assertThat(maxDiff(logits, c.lastLogits())).isLessThan(TOLERANCE);
    }

    static int[] greedy(CpuBackend b, int[] prompt, int count) {
        int[] tbl = table(0, prompt.length + count);
        int[] out = new int[count];
        float[] logits = b.forward(List.of(new SequenceChunk(7, prompt, 0, tbl, true)))[0];
        for (int i = 0; i < count; i++) {
            out[i] = argmax(logits);
            if (i + 1 < count) {
                logits = b.forward(List.of(new SequenceChunk(7, new int[] {out[i]}, prompt.length + i, tbl, true)))[0];
            }
        }
        return out;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    static float maxDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
