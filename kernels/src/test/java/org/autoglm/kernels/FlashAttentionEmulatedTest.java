package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.autoglm.kernels.emulation.HostMemory;
import org.autoglm.kernels.plan.StepLayout;
import org.autoglm.kernels.plan.StepPacker;
import org.autoglm.kernels.plan.StepPacker.PackedStep;
import org.autoglm.models.backend.SequenceChunk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * flash_prefill (tensor-core flash attention for prefill steps, bf16) on the host emulation, with the PTX fragment
 * layouts of mma.sync: a packed step of a whole prompt, a chunk over a cached prefix and a single token, against
 * attention computed in double precision from the same bf16 values, and against paged_attention on the same
 * layout. Shapes cover several key tiles, rows past a tile's end, GQA groups of 1 to 16 heads and every
 * instantiated head size but 96.
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class FlashAttentionEmulatedTest {

    private static final int BLOCK = 16;

    private final HostMemory mem = new HostMemory();

    @AfterEach
    void free() {
        mem.close();
    }

    @ParameterizedTest(name = "prompt {0}, heads {1}, kv heads {2}, head dim {3}")
    @CsvSource({"70, 4, 2, 16", "33, 8, 8, 32", "20, 32, 2, 128", "130, 2, 1, 64"})
    void matchesExactAttentionAndPagedAttentionOverAPackedStep(int promptTokens, int heads, int kvHeads,
            int headDim) {
        int group = heads / kvHeads;
        int width = (heads + 2 * kvHeads) * headDim;
        // sequence 0: a whole prompt; 1: 23 tokens after a cached prefix of 75; 2: one token at position 9
        int[] start = {0, 75, 9};
        int[] length = {promptTokens, 23, 1};
        int seqs = start.length;
        int blocksPerSeq = (75 + 23 + promptTokens) / BLOCK + 2;
        Random random = new Random(promptTokens * 31 + headDim);

        // k and v of every position of every sequence, straight into a paged cache (bf16) through block tables
        long cacheBytes = 2L * seqs * blocksPerSeq * BLOCK * kvHeads * headDim;
        long kCache = mem.alloc(cacheBytes), vCache = mem.alloc(cacheBytes);
        float[][][] keys = new float[seqs][][], values = new float[seqs][][];
        List<SequenceChunk> chunks = new ArrayList<>();
        for (int s = 0; s < seqs; s++) {
            int positions = start[s] + length[s];
            int[] table = new int[blocksPerSeq];
            for (int b = 0; b < blocksPerSeq; b++) table[b] = (blocksPerSeq - 1 - b) * seqs + s;   // scrambled
            keys[s] = new float[positions][kvHeads * headDim];
            values[s] = new float[positions][kvHeads * headDim];
            for (int p = 0; p < positions; p++) {
                long slot = (long) table[p / BLOCK] * BLOCK + p % BLOCK;
                for (int i = 0; i < kvHeads * headDim; i++) {
                    keys[s][p][i] = bf16((float) random.nextGaussian());
                    values[s][p][i] = bf16((float) random.nextGaussian());
                    HostMemory.setBf16(kCache, slot * kvHeads * headDim + i, keys[s][p][i]);
                    HostMemory.setBf16(vCache, slot * kvHeads * headDim + i, values[s][p][i]);
                }
            }
            chunks.add(new SequenceChunk(s, new int[length[s]], start[s], table, true));
        }
        PackedStep step = StepPacker.pack(chunks, BLOCK, group);
        StepLayout l = step.layout();
        long meta = mem.alloc(4L * l.totalInts());
        HostMemory.setInts(meta, step.data(), l.totalInts());
        float[] qkv = new float[l.tokens() * width];
        for (int t = 0; t < l.tokens(); t++) {
            for (int i = 0; i < heads * headDim; i++) qkv[t * width + i] = (float) random.nextGaussian();
        }
        long qkvDev = mem.alloc(4L * qkv.length);
        HostMemory.setFloats(qkvDev, qkv);

        GlmKernels k = EmulatedKernels.of(true, o -> o.flashAttention = true);
        assertThat(k.hasFlashAttention(headDim)).isTrue();
        k.prepareAttention(headDim);   // as CudaBackend does: flash_prefill needs more than 48 KiB of shared memory
        long outFlash = mem.alloc(2L * l.tokens() * heads * headDim);
        long outPaged = mem.alloc(2L * l.tokens() * heads * headDim);
        k.flashAttention(qkvDev, kCache, vCache, meta + 4L * l.blockTables(), meta + 4L * l.seqStarts(),
                meta + 4L * l.positions(), meta + 4L * l.flashWork(), outFlash, l.flashItems(), heads, kvHeads,
                headDim, BLOCK, l.blocksPerSeq());
        k.attention(qkvDev, kCache, vCache, meta + 4L * l.blockTables(), meta + 4L * l.seqStarts(),
                meta + 4L * l.positions(), meta + 4L * l.work(), outPaged, 0, 0, 0, l.workItems(), l.tokens(), heads,
                kvHeads, headDim, BLOCK, l.blocksPerSeq(), 1);

        double worstExact = 0, worstPaged = 0;
        double scale = 1 / Math.sqrt(headDim);
        int row = 0;
        for (int s = 0; s < seqs; s++) {
            for (int i = 0; i < length[s]; i++, row++) {
                int pos = start[s] + i;
                for (int h = 0; h < heads; h++) {
                    int kv = h / group;
                    double[] p = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= pos; j++) {
                        double dot = 0;
                        for (int d = 0; d < headDim; d++) {
                            dot += bf16(qkv[row * width + h * headDim + d]) * keys[s][j][kv * headDim + d];
                        }
                        p[j] = dot * scale;
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= pos; j++) sum += p[j] = Math.exp(p[j] - max);
                    for (int d = 0; d < headDim; d++) {
                        double o = 0;
                        for (int j = 0; j <= pos; j++) o += p[j] * values[s][j][kv * headDim + d];
                        long at = ((long) row * heads + h) * headDim + d;
                        double got = HostMemory.bf16(outFlash, at);
                        worstExact = Math.max(worstExact, Math.abs(got - o / sum));
                        worstPaged = Math.max(worstPaged, Math.abs(got - HostMemory.bf16(outPaged, at)));
                    }
                }
            }
        }
        // bf16 probabilities and output: ~3 significant digits of values of magnitude ≲ 2
        assertThat(worstExact).as("flash vs exact attention").isLessThan(0.03);
        assertThat(worstPaged).as("flash vs paged attention").isLessThan(0.03);
    }

    private static float bf16(float f) {
        return HostMemory.roundBf16(f);
    }
}
