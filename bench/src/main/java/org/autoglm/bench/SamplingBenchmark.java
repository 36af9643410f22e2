package org.autoglm.bench;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.runner.SamplerFactory;
import org.autoglm.node.engine.runner.TokenSampler;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Sampling one sequence's next token over a GLM-4 vocabulary of 151,552 logits, as the model runner does it
 * (through the engine's sampler factory): greedy, and temperature 0.8 with top-p 0.9.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SamplingBenchmark {

    private static final int VOCAB = 151_552;

    @Param({"greedy", "top-p"})
    public String mode;

    private float[] logits;
    private TokenSampler sampler;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom r = new SplittableRandom(1);
        logits = new float[VOCAB];
        // Model-like logits: mostly small, a few dozen clearly likely tokens.
        for (int i = 0; i < VOCAB; i++) logits[i] = (float) (r.nextGaussian() * 2.0);
        for (int i = 0; i < 32; i++) logits[r.nextInt(VOCAB)] += 12 + r.nextInt(6);
        SamplingParams params = mode.equals("greedy")
                ? SamplingParams.greedy(1024)
                : new SamplingParams(0.8, 0.9, 0, 0, 1, 0, 0, 7L, 1024, List.of(), false, -1);
        sampler = SamplerFactory.DEFAULT.create(params, new int[] {1, 2, 3});
    }

    @Benchmark
    public int sample() {
        return sampler.sample(logits);
    }
}
