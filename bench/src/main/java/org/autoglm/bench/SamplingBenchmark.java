package org.autoglm.bench;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.autoglm.models.sampling.Sampler;
import org.autoglm.models.sampling.SamplingParams;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One sequence's next-token choice over GLM-4's 151,552-token vocabulary, from logits shaped like a language
 * model's (a broad noisy tail with a few strong candidates), with 200 output tokens already seen (penalties
 * pay per distinct seen token).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SamplingBenchmark {

    private static final int VOCAB = 151_552;

    /** greedy; top-p 0.9 at T 0.8; top-k 50 + top-p 0.95; plain T 1; greedy with all three penalties. */
    @Param({"greedy", "top-p", "top-k-top-p", "temperature", "greedy-penalties"})
    public String mode;

    private float[] logits;
    private Sampler sampler;

    @Setup
    public void setUp() {
        SplittableRandom random = new SplittableRandom(1);
        logits = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            logits[i] = (float) (random.nextGaussian() * 2.5);
        }
        for (int i = 0; i < 20; i++) {
            logits[random.nextInt(VOCAB)] = 12 + (float) random.nextDouble() * 4;
        }
        SamplingParams params = switch (mode) {
            case "greedy" -> SamplingParams.greedy(1 << 20);
            case "top-p" -> params(0.8, 0.9, 0, 1, 0, 0);
            case "top-k-top-p" -> params(0.7, 0.95, 50, 1, 0, 0);
            case "temperature" -> params(1.0, 1.0, 0, 1, 0, 0);
            case "greedy-penalties" -> params(0, 1, 0, 1.1, 0.5, 0.5);
            default -> throw new IllegalArgumentException(mode);
        };
        int[] prompt = random.ints(500, 0, VOCAB).toArray();
        sampler = new Sampler(params, prompt);
        for (int i = 0; i < 200; i++) {
            sampler.accept(random.nextInt(VOCAB));
        }
    }

    @Benchmark
    public int sample() {
        return sampler.sample(logits);
    }

    private static SamplingParams params(double temperature, double topP, int topK, double repetition,
                                         double presence, double frequency) {
        return new SamplingParams(temperature, topP, topK, 0, repetition, presence, frequency, 42L, 1 << 20,
                List.of(), false, -1);
    }
}
