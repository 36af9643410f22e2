package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Pointer;
import java.util.Set;
import org.autoglm.kernels.emulation.HostMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * apply_token_mask (sampling.cu) on the host emulation, then sample_tokens: a grammar's bitmask uploaded per row
 * decides which tokens can be drawn, greedy or random, and rows without a mask are untouched.
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class TokenMaskEmulatedTest {

    private static final int VOCAB = 1003;   // not a multiple of 64: the last word is partial
    private static final int WORDS = (VOCAB + 63) / 64;

    private final HostMemory mem = new HostMemory();
    private GlmKernels k;

    @BeforeEach
    void kernels() {
        k = EmulatedKernels.of(false, o -> { });
    }

    @AfterEach
    void free() {
        mem.close();
    }

    @Test
    void maskedRowsDrawOnlyAllowedTokensAndOthersAreUntouched() {
        Set<Integer> allowed = Set.of(3, 64, 700, 1002);
        long[] mask = new long[WORDS];
        for (int t : allowed) mask[t >>> 6] |= 1L << (t & 63);
        int rows = 40;
        float[] logits = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) logits[i] = (float) Math.sin(i * 0.91) * 2;
        logits[500] = 9f;   // the best token overall, not allowed
        long l = mem.alloc(4L * rows * VOCAB);
        for (int r = 0; r < rows; r++) new Pointer(l).write(4L * r * VOCAB, logits, 0, VOCAB);
        long masks = mem.alloc(8L * WORDS);
        new Pointer(masks).write(0, mask, 0, WORDS);
        long maskRows = mem.alloc(4L * rows);
        for (int r = 0; r < rows; r++) new Pointer(maskRows).setInt(4L * r, r == 0 ? -1 : 0);   // row 0: no mask

        k.applyTokenMask(l, rows, VOCAB, masks, WORDS, maskRows);

        float[] row0 = new Pointer(l).getFloatArray(0, VOCAB);
        assertThat(row0).containsExactly(logits);
        float[] row1 = new Pointer(l).getFloatArray(4L * VOCAB, VOCAB);
        for (int i = 0; i < VOCAB; i++) {
            if (allowed.contains(i)) {
                assertThat(row1[i]).isEqualTo(logits[i]);
            } else {
                assertThat(row1[i]).isEqualTo(Float.NEGATIVE_INFINITY);
            }
        }

        SamplingBuffers b = SamplingBuffers.at(mem.alloc(SamplingBuffers.bytes(rows)), rows);
        for (int r = 0; r < rows; r++) {
            new Pointer(b.seeds()).setLong(8L * r, 77);
            new Pointer(b.temperature()).setFloat(4L * r, r < 2 ? 0f : 1.5f);   // rows 0, 1 greedy
            new Pointer(b.topK()).setInt(4L * r, 0);
            new Pointer(b.topP()).setFloat(4L * r, 1f);
            new Pointer(b.steps()).setInt(4L * r, r);
        }
        k.sample(l, rows, VOCAB, b.temperature(), b.topK(), b.topP(), b.seeds(), b.steps(), b.outIds());
        int[] ids = new Pointer(b.outIds()).getIntArray(0, rows);
        assertThat(ids[0]).isEqualTo(500);   // unmasked greedy: the overall best
        int best = allowed.stream().max((x, y) -> Float.compare(logits[x], logits[y])).orElseThrow();
        assertThat(ids[1]).isEqualTo(best);
        for (int r = 1; r < rows; r++) assertThat(allowed).contains(ids[r]);
        assertThat(java.util.Arrays.stream(ids, 2, rows).distinct().count()).isGreaterThan(1);   // really drawn
    }
}
