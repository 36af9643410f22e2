package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.autoglm.kernels.emulation.HostEmulation;
import org.autoglm.kernels.emulation.HostMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * flash_prefill (tensor-core flash attention for whole prompts, bf16) on the host emulation, with the PTX fragment
 * layouts of mma.sync: against attention computed in double precision from the same bf16 inputs, and against the
 * cuBLAS-GEMM path it replaces. Shapes cover several key tiles, rows past the end of the last tile, GQA groups of
 * 1 to 16 heads and every instantiated head size but 96.
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class FlashAttentionEmulatedTest {

    private static final int BLOCK = 16;

    private final HostMemory mem = new HostMemory();

    @AfterEach
    void free() {
        mem.close();
    }

    @ParameterizedTest(name = "tokens {0}, heads {1}, kv heads {2}, head dim {3}")
    @CsvSource({"70, 4, 2, 16", "33, 8, 8, 32", "20, 32, 2, 128", "130, 2, 1, 64"})
    void matchesExactAttentionOverTheSameBf16Inputs(int tokens, int heads, int kvHeads, int headDim) {
        int width = (heads + 2 * kvHeads) * headDim;
        int group = heads / kvHeads;
        float[] qkv = new float[tokens * width];
        Random random = new Random(tokens * 31 + headDim);
        for (int i = 0; i < qkv.length; i++) qkv[i] = (float) random.nextGaussian();

        GlmKernels flash = new GlmKernels(new HostEmulation(true), true, true, false);
        GlmKernels gemm = new GlmKernels(new HostEmulation(true), true, false, false);
        assertThat(flash.hasFlashAttention(headDim)).isTrue();
        assertThat(gemm.hasFlashAttention(headDim)).isFalse();

        // the prompt's k and v go into a paged cache through a scrambled block table, as in serving
        int blocks = (tokens + BLOCK - 1) / BLOCK;
        int[] table = new int[blocks];
        int[] slots = new int[tokens];
        int[] positions = new int[tokens];
        for (int b = 0; b < blocks; b++) table[b] = 2 * (blocks - 1 - b) + 1;
        for (int t = 0; t < tokens; t++) {
            positions[t] = t;
            slots[t] = table[t / BLOCK] * BLOCK + t % BLOCK;
        }
        long cacheBytes = 2L * (2 * blocks) * BLOCK * kvHeads * headDim;
        long kCache = mem.alloc(cacheBytes), vCache = mem.alloc(cacheBytes);
        long qkvDev = mem.alloc(4L * qkv.length);
        long tableDev = ints(table), slotsDev = ints(slots), positionsDev = ints(positions);
        long invFreq = mem.alloc(4);
        HostMemory.setFloats(qkvDev, qkv);
        // no bias, no rotary dims: the kernel only writes k and v into the cache (as bf16)
        flash.biasRopeKvWrite(qkvDev, 0, positionsDev, invFreq, slotsDev, kCache, vCache, tokens, heads, kvHeads,
                headDim, 0);

        long outFlash = mem.alloc(2L * tokens * heads * headDim);
        long outGemm = mem.alloc(2L * tokens * heads * headDim);
        long scratch = mem.alloc(ForwardKernels.denseScratchBytes(tokens, heads, kvHeads, headDim, 2));
        flash.promptAttention(qkvDev, kCache, vCache, tableDev, outFlash, 0, tokens, heads, kvHeads, headDim, BLOCK);
        gemm.promptAttention(qkvDev, kCache, vCache, tableDev, outGemm, scratch, tokens, heads, kvHeads, headDim,
                BLOCK);

        double worstExact = 0, worstGemm = 0;
        double scale = 1 / Math.sqrt(headDim);
        for (int t = 0; t < tokens; t++) {
            for (int h = 0; h < heads; h++) {
                int kv = h / group;
                double[] p = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= t; j++) {
                    double s = 0;
                    for (int d = 0; d < headDim; d++) {
                        s += bf16(qkv[t * width + h * headDim + d]) * bf16(qkv[j * width + (heads + kv) * headDim + d]);
                    }
                    p[j] = s * scale;
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j <= t; j++) sum += p[j] = Math.exp(p[j] - max);
                for (int d = 0; d < headDim; d++) {
                    double o = 0;
                    for (int j = 0; j <= t; j++) {
                        o += p[j] * bf16(qkv[j * width + (heads + kvHeads + kv) * headDim + d]);
                    }
                    o /= sum;
                    long at = ((long) t * heads + h) * headDim + d;
                    double got = bf16At(outFlash, at);
                    worstExact = Math.max(worstExact, Math.abs(got - o));
                    worstGemm = Math.max(worstGemm, Math.abs(got - bf16At(outGemm, at)));
                }
            }
        }
        // bf16 probabilities and output: ~3 significant digits of values of magnitude ≲ 2
        assertThat(worstExact).as("flash vs exact attention").isLessThan(0.03);
        assertThat(worstGemm).as("flash vs the cuBLAS path").isLessThan(0.03);
    }

    private long ints(int[] values) {
        long a = mem.alloc(4L * values.length);
        HostMemory.setInts(a, values, values.length);
        return a;
    }

    /** fp32 to bf16 and back, round to nearest even (as from_float in common.cuh). */
    static float bf16(float f) {
        int u = Float.floatToRawIntBits(f);
        u += 0x7fff + ((u >>> 16) & 1);
        return Float.intBitsToFloat(u & 0xffff0000);
    }

    private static float bf16At(long address, long index) {
        int bits = new com.sun.jna.Pointer(address).getShort(2 * index) & 0xffff;
        return Float.intBitsToFloat(bits << 16);
    }
}
