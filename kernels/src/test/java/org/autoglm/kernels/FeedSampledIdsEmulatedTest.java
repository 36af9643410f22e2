package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Pointer;
import org.autoglm.kernels.emulation.HostMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * Asynchronous scheduling's device-side id feed on the host emulation: sample_tokens draws a step's ids, the host
 * uploads the next step's ids with {@code -(row + 1)} where a token is still on the device, feed_sampled_ids puts the
 * drawn ids there, and embedding_gather reads the rows of exactly those tokens.
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class FeedSampledIdsEmulatedTest {

    private static final int VOCAB = 50;
    private static final int HIDDEN = 8;

    private final HostMemory mem = new HostMemory();

    @AfterEach
    void free() {
        mem.close();
    }

    @Test
    void theNextStepEmbedsTheTokensTheLastOneDrewWithoutTheHostReadingThem() {
        GlmKernels k = EmulatedKernels.of(false, o -> { });
        // step n: three rows, greedy; row r's largest logit is token 10 + 7r
        int rows = 3;
        long logits = mem.alloc(4L * rows * VOCAB);
        for (int r = 0; r < rows; r++) {
            float[] row = new float[VOCAB];
            for (int v = 0; v < VOCAB; v++) row[v] = (float) Math.sin(v + r);
            row[10 + 7 * r] = 5f;
            new Pointer(logits).write(4L * r * VOCAB, row, 0, VOCAB);
        }
        SamplingBuffers b = SamplingBuffers.at(mem.alloc(SamplingBuffers.bytes(rows)), rows);
        k.sample(logits, rows, VOCAB, b.temperature(), b.topK(), b.topP(), b.seeds(), b.steps(), b.outIds());
        assertThat(new Pointer(b.outIds()).getIntArray(0, rows)).containsExactly(10, 17, 24);

        // step n+1 (a prefill chunk of two known tokens and three decode rows fed from step n, in another order):
        // the parameter upload leaves the drawn ids alone
        int[] hostIds = {4, 9, -3, -1, -2};
        long ids = mem.alloc(4L * hostIds.length);
        new Pointer(ids).write(0, hostIds, 0, hostIds.length);
        new Pointer(b.seeds()).write(0, new byte[(int) SamplingBuffers.paramBytes(rows)], 0,
                (int) SamplingBuffers.paramBytes(rows));   // what cuMemcpyHtoD of paramBytes overwrites
        k.feedSampledIds(ids, b.outIds(), hostIds.length);
        assertThat(new Pointer(ids).getIntArray(0, hostIds.length)).containsExactly(4, 9, 24, 10, 17);

        long table = mem.alloc(4L * VOCAB * HIDDEN);
        for (int v = 0; v < VOCAB; v++) {
            for (int j = 0; j < HIDDEN; j++) new Pointer(table).setFloat(4L * (v * HIDDEN + j), v * 100 + j);
        }
        long out = mem.alloc(4L * hostIds.length * HIDDEN);
        k.embeddingGather(ids, table, out, hostIds.length, HIDDEN);
        int[] expected = {4, 9, 24, 10, 17};
        for (int t = 0; t < expected.length; t++) {
            assertThat(new Pointer(out).getFloat(4L * (t * HIDDEN + 3))).isEqualTo(expected[t] * 100 + 3);
        }
    }

    @Test
    void idsTheHostKnowsAreLeftAsTheyAre() {
        GlmKernels k = EmulatedKernels.of(false, o -> { });
        long drawn = mem.alloc(4L * 4);
        new Pointer(drawn).write(0, new int[] {7, 8, 9, 10}, 0, 4);
        int n = 300;   // more than one block of 256
        int[] host = new int[n];
        for (int t = 0; t < n; t++) host[t] = t % 5 == 0 ? -(t % 4) - 1 : t;
        long ids = mem.alloc(4L * n);
        new Pointer(ids).write(0, host, 0, n);
        k.feedSampledIds(ids, drawn, n);
        int[] got = new Pointer(ids).getIntArray(0, n);
        for (int t = 0; t < n; t++) assertThat(got[t]).as("token %d", t).isEqualTo(t % 5 == 0 ? 7 + t % 4 : t);
    }
}
