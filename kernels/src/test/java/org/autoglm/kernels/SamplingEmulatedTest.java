package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Pointer;
import java.util.Arrays;
import org.autoglm.kernels.emulation.HostMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * sample_tokens (sampling.cu) on the host emulation: greedy ties, top-k and top-p sets, the draw's distribution
 * and its reproducibility per (seed, step). Each launch samples many rows at once, one parameter set per row.
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class SamplingEmulatedTest {

    private static final int VOCAB = 3000;

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

    /** Samples {@code rows} copies of {@code logits} with the given parameters; row r uses step {@code r}. */
    private int[] sample(float[] logits, int rows, float temperature, int topK, float topP, long seed) {
        int vocab = logits.length;
        long l = mem.alloc(4L * rows * vocab);
        for (int r = 0; r < rows; r++) new Pointer(l).write(4L * r * vocab, logits, 0, vocab);
        SamplingBuffers b = SamplingBuffers.at(mem.alloc(SamplingBuffers.bytes(rows)), rows);
        for (int r = 0; r < rows; r++) {
            new Pointer(b.seeds()).setLong(8L * r, seed);
            new Pointer(b.temperature()).setFloat(4L * r, temperature);
            new Pointer(b.topK()).setInt(4L * r, topK);
            new Pointer(b.topP()).setFloat(4L * r, topP);
            new Pointer(b.steps()).setInt(4L * r, r);
        }
        k.sample(l, rows, vocab, b.temperature(), b.topK(), b.topP(), b.seeds(), b.steps(), b.outIds());
        return new Pointer(b.outIds()).getIntArray(0, rows);
    }

    private static float[] logits() {
        float[] x = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) x[i] = -5 + (float) Math.sin(i * 0.37);   // background, below -4
        x[2700] = 3.0f;
        x[17] = 2.5f;
        x[999] = 2.0f;
        x[1500] = 1.0f;
        return x;
    }

    @Test
    void greedyTakesTheArgmaxAndTheLowestIdOnTies() {
        float[] x = logits();
        x[2900] = 3.0f;   // ties with 2700
        assertThat(sample(x, 2, 0f, 0, 1f, 1)).containsExactly(2700, 2700);
    }

    @Test
    void aVocabularyThatIsNoMultipleOfFourIsReadElementByElement() {
        float[] x = Arrays.copyOf(logits(), VOCAB + 3);   // rows no longer 16-byte aligned
        Arrays.fill(x, VOCAB, VOCAB + 3, -5f);
        x[VOCAB + 2] = 3.0f;   // ties with 2700, in the last element
        assertThat(sample(x, 3, 0f, 0, 1f, 1)).containsExactly(2700, 2700, 2700);
        x[VOCAB + 1] = 3.5f;
        assertThat(sample(x, 3, 0f, 0, 1f, 1)).containsExactly(VOCAB + 1, VOCAB + 1, VOCAB + 1);
        assertThat(sample(x, 24, 1f, 2, 1f, 5)).containsOnly(VOCAB + 1, 2700, VOCAB + 2);
    }

    @Test
    void topKDrawsOnlyFromTheKLargestInProportionToTheirProbabilities() {
        // (each row is a block of 1,024 emulated threads: rows are this suite's time, so as few as the bounds allow)
        int[] ids = sample(logits(), 120, 1f, 3, 1f, 42);
        assertThat(ids).containsOnly(2700, 17, 999);
        // p ∝ e^3 : e^2.5 : e^2 = 0.506 : 0.307 : 0.186; bounds at ±3.4 binomial standard deviations, which a
        // uniform draw (40 each) falls outside of
        long top = Arrays.stream(ids).filter(id -> id == 2700).count();
        long third = Arrays.stream(ids).filter(id -> id == 999).count();
        assertThat(top).isBetween(42L, 79L);
        assertThat(third).isBetween(8L, 37L);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // with top-k 4 the kept mass is e^3 + e^2.5 + e^2 + e^1; the top two hold 0.75 of it, the top one 0.47
        int[] ids = sample(logits(), 24, 1f, 4, 0.7f, 7);
        assertThat(ids).containsOnly(2700, 17);
        assertThat(ids).contains(2700, 17);
    }

    @Test
    void theThresholdSearchKeepsExactlyTheTopKAndTheSmallestSetReachingTopP() {
        java.util.Random random = new java.util.Random(11);
        float[] flat = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) flat[i] = random.nextFloat();   // distinct values, nearly equal weights
        Integer[] order = byValueDescending(flat);
        // top-k 10: every draw among the 10 largest, the 10th itself drawn too (an off-by-one would drop or add it)
        java.util.Set<Integer> top10 = new java.util.HashSet<>(Arrays.asList(order).subList(0, 10));
        assertThat(Arrays.stream(sample(flat, 60, 1f, 10, 1f, 3)).boxed().toList()).allMatch(top10::contains)
                .contains(order[9]);

        // top-p 0.5 over a dozen large logits: the smallest top set whose probability reaches it, in double precision
        float[] x = logits();
        for (int i = 0; i < 12; i++) x[100 + 37 * i] = 1 + random.nextFloat() * 2;
        order = byValueDescending(x);
        double max = x[order[0]], total = 0;
        for (float v : x) total += Math.exp(v - max);
        double mass = 0;
        int kept = 0;
        while (mass < 0.5 * total) mass += Math.exp(x[order[kept++]] - max);
        assertThat(mass / total).as("not a borderline case").isGreaterThan(0.5 + 1e-3);
        assertThat(kept).as("tokens in the nucleus").isBetween(2, 8);
        java.util.Set<Integer> nucleus = new java.util.HashSet<>(Arrays.asList(order).subList(0, kept));
        assertThat(Arrays.stream(sample(x, 60, 1f, 0, 0.5f, 4)).boxed().toList()).allMatch(nucleus::contains)
                .contains(order[kept - 1]);
    }

    private static Integer[] byValueDescending(float[] x) {
        Integer[] order = new Integer[x.length];
        for (int i = 0; i < x.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(x[b], x[a]));
        return order;
    }

    @Test
    void aDrawIsFixedByItsSeedAndStep() {
        float[] x = logits();
        int[] first = sample(x, 6, 1.5f, 0, 0.95f, 1234);
        int[] again = sample(x, 6, 1.5f, 0, 0.95f, 1234);
        int[] other = sample(x, 6, 1.5f, 0, 0.95f, 99);
        assertThat(again).containsExactly(first);
        assertThat(other).isNotEqualTo(first);
        assertThat(Arrays.stream(first).distinct().count()).isGreaterThan(1);   // steps differ, draws differ
    }
}
