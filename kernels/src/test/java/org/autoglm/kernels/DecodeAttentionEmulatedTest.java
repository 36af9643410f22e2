package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.autoglm.kernels.emulation.HostMemory;
import org.autoglm.kernels.plan.GraphBuckets;
import org.autoglm.kernels.plan.LaunchGeometry;
import org.autoglm.kernels.plan.StepLayout;
import org.autoglm.kernels.plan.StepPacker;
import org.autoglm.kernels.plan.StepPacker.PackedStep;
import org.autoglm.models.backend.SequenceChunk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * decode_attention (one token per sequence, a block per GQA group) on the host emulation, against attention computed
 * in double precision from the same cached values: a graph bucket's padded decode step whose contexts run from one
 * key to several shared-memory chunks, with one split, several, and more splits than some contexts have keys. After
 * every launch the split counters are back at zero (graph replays reuse them) and padding rows are untouched.
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class DecodeAttentionEmulatedTest {

    private static final int BLOCK = 16;
    private static final int[] POSITIONS = {0, 57, 150, 300};   // the new token's: contexts of 1 to 301 keys

    private final HostMemory mem = new HostMemory();

    @AfterEach
    void free() {
        mem.close();
    }

    @Test
    void decodeStepsOfLargeGroupsRunDecodeAttentionOnlyWhileItsBlocksFitOneWave() {
        GlmKernels k = EmulatedKernels.of(true, o -> o.decodeAttention = true);   // 132 SMs on the emulation
        // glm-edge-1.5b (group 4, 4 warps a block): at any batch
        assertThat(k.hasDecodeAttention(1, 16, 4, 128)).isTrue();
        assertThat(k.hasDecodeAttention(256, 16, 4, 128)).isTrue();
        // glm-4-9b (group 16, 16 warps a block): up to 66 sequences (132 blocks), paged attention beyond
        assertThat(k.hasDecodeAttention(66, 32, 2, 128)).isTrue();
        assertThat(k.hasDecodeAttention(67, 32, 2, 128)).isFalse();
        // forced to 4 warps, any batch; turned off, none
        assertThat(EmulatedKernels.of(true, o -> {
            o.decodeAttention = true;
            o.decodeAttentionWarps = 4;
        }).hasDecodeAttention(256, 32, 2, 128)).isTrue();
        assertThat(EmulatedKernels.of(true, o -> o.decodeAttention = false).hasDecodeAttention(1, 16, 4, 128)).isFalse();
    }

    @ParameterizedTest(name = "bf16 {0}, heads {1}, kv heads {2}, head dim {3}, {4} warps")
    @CsvSource({"true, 16, 4, 128, 4", "false, 16, 4, 128, 4", "true, 32, 2, 128, 4", "false, 4, 4, 64, 4",
            "true, 6, 2, 16, 4",
            // more warps than rows: a row's p v over several warps (4 a row; 5 and one idle; 2), or a row each
            "true, 16, 4, 128, 16", "false, 6, 2, 64, 16", "true, 32, 2, 128, 16", "false, 16, 2, 16, 16",
            "true, 16, 4, 128, 8",
            // 0: a warp per query head, at least 4 (16 here)
            "true, 32, 2, 128, 0"})
    void matchesExactAttentionWithAnySplitCount(boolean bf16, int heads, int kvHeads, int headDim, int warps) {
        int eb = bf16 ? 2 : 4;
        int group = heads / kvHeads;
        int width = (heads + 2 * kvHeads) * headDim;
        int seqs = POSITIONS.length;
        GraphBuckets.Key bucket = GraphBuckets.key(seqs + 1, (POSITIONS[seqs - 1] + BLOCK) / BLOCK, 8, 64);
        Random random = new Random(heads * 131 + headDim * 7 + eb);

        // every position's k and v, through scrambled block tables into the paged cache
        long cacheBytes = (long) eb * seqs * bucket.blocksPerSeq() * BLOCK * kvHeads * headDim;
        long kCache = mem.alloc(cacheBytes), vCache = mem.alloc(cacheBytes);
        float[][][] keys = new float[seqs][][], values = new float[seqs][][];
        List<SequenceChunk> chunks = new ArrayList<>();
        for (int s = 0; s < seqs; s++) {
            int[] table = new int[bucket.blocksPerSeq()];
            for (int b = 0; b < table.length; b++) table[b] = (table.length - 1 - b) * seqs + s;
            keys[s] = new float[POSITIONS[s] + 1][kvHeads * headDim];
            values[s] = new float[POSITIONS[s] + 1][kvHeads * headDim];
            for (int p = 0; p <= POSITIONS[s]; p++) {
                long slot = (long) table[p / BLOCK] * BLOCK + p % BLOCK;
                for (int i = 0; i < kvHeads * headDim; i++) {
                    keys[s][p][i] = store(kCache, slot * kvHeads * headDim + i, (float) random.nextGaussian(), bf16);
                    values[s][p][i] = store(vCache, slot * kvHeads * headDim + i, (float) random.nextGaussian(), bf16);
                }
            }
            chunks.add(new SequenceChunk(s, new int[] {1}, POSITIONS[s], table, true));
        }
        PackedStep step = StepPacker.packDecode(chunks, bucket, BLOCK, group);
        StepLayout l = step.layout();
        long meta = mem.alloc(4L * l.totalInts());
        HostMemory.setInts(meta, step.data(), l.totalInts());
        float[] qkv = new float[l.tokens() * width];
        for (int i = 0; i < qkv.length; i++) qkv[i] = (float) random.nextGaussian();
        long qkvDev = mem.alloc(4L * qkv.length);
        HostMemory.setFloats(qkvDev, qkv);
        long partAcc = mem.alloc(4L * l.tokens() * heads * LaunchGeometry.MAX_SPLITS * headDim);
        long partMl = mem.alloc(8L * l.tokens() * heads * LaunchGeometry.MAX_SPLITS);
        long counters = mem.alloc(4L * l.seqs() * kvHeads);
        long out = mem.alloc((long) eb * l.tokens() * heads * headDim);

        GlmKernels k = EmulatedKernels.of(bf16, o -> {
            o.decodeAttention = true;
            o.decodeAttentionWarps = warps;
        });
        assertThat(k.hasDecodeAttention(1, heads, kvHeads, headDim)).isTrue();
        k.prepareAttention(headDim);   // as CudaBackend does: above 48 KiB of shared memory needs the opt-in
        double[][][] exact = exactAttention(qkv, keys, values, heads, kvHeads, headDim);
        for (int splits : new int[] {1, 2, 5, LaunchGeometry.MAX_SPLITS}) {
            new Pointer(out).setMemory(0, (long) eb * l.tokens() * heads * headDim, (byte) 0x7f);   // NaN-ish marker
            k.decodeAttention(qkvDev, kCache, vCache, meta + 4L * l.blockTables(), meta + 4L * l.seqStarts(),
                    meta + 4L * l.positions(), out, partAcc, partMl, counters, l.seqs(), heads, kvHeads, headDim,
                    BLOCK, l.blocksPerSeq(), splits);
            double worst = 0;
            for (int t = 0; t < seqs; t++) {
                for (int h = 0; h < heads; h++) {
                    for (int d = 0; d < headDim; d++) {
                        double got = load(out, ((long) t * heads + h) * headDim + d, bf16);
                        worst = Math.max(worst, Math.abs(got - exact[t][h][d]));
                    }
                }
            }
            // bf16: the output is rounded to bf16 (values of magnitude ≲ 2); fp32: only the summation order differs
            assertThat(worst).as("%d splits", splits).isLessThan(bf16 ? 0.01 : 2e-5);
            for (int i = 0; i < l.seqs() * kvHeads; i++) {
                assertThat(HostMemory.i(counters, i)).as("split counter %d after %d splits", i, splits).isZero();
            }
            for (long i = (long) seqs * heads * headDim; i < (long) l.tokens() * heads * headDim; i++) {
                assertThat(new Pointer(out).getByte(eb * i)).as("padding row element %d", i).isEqualTo((byte) 0x7f);
            }
        }
    }

    /** out[t][h][d] of softmax(q kᵀ / √D) v over each sequence's keys 0..position, in double precision. */
    private static double[][][] exactAttention(float[] qkv, float[][][] keys, float[][][] values, int heads,
            int kvHeads, int headDim) {
        int width = (heads + 2 * kvHeads) * headDim;
        int group = heads / kvHeads;
        double[][][] out = new double[keys.length][heads][headDim];
        for (int t = 0; t < keys.length; t++) {
            int n = keys[t].length;
            for (int h = 0; h < heads; h++) {
                int kv = h / group;
                double[] p = new double[n];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++) dot += qkv[t * width + h * headDim + d] * keys[t][j][kv * headDim + d];
                    p[j] = dot / Math.sqrt(headDim);
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < n; j++) sum += p[j] = Math.exp(p[j] - max);
                for (int d = 0; d < headDim; d++) {
                    double o = 0;
                    for (int j = 0; j < n; j++) o += p[j] * values[t][j][kv * headDim + d];
                    out[t][h][d] = o / sum;
                }
            }
        }
        return out;
    }

    /** Stores {@code v} as the cache's element type at element {@code index}; returns the value stored. */
    private static float store(long address, long index, float v, boolean bf16) {
        if (!bf16) {
            HostMemory.setF(address, index, v);
            return v;
        }
        float rounded = HostMemory.roundBf16(v);
        HostMemory.setBf16(address, index, rounded);
        return rounded;
    }

    private static double load(long address, long index, boolean bf16) {
        if (!bf16) return HostMemory.f(address, index);
        return HostMemory.bf16(address, index);
    }
}
