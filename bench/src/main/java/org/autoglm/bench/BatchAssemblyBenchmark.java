package org.autoglm.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.runner.ModelRunner;
import org.autoglm.node.engine.runner.SamplerFactory;
import org.autoglm.node.engine.scheduler.ScheduledChunk;
import org.autoglm.node.engine.scheduler.SchedulerOutput;
import org.autoglm.node.engine.scheduler.Sequence;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Batch assembly: the model runner turning a plan of 256 decoding sequences (200 tokens of context, 13 KV
 * blocks each) into the backend's {@link SequenceChunk}s, with its persistent per-sequence state.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class BatchAssemblyBenchmark {

    private static final int SEQS = 256;

    private ModelRunner runner;
    private SchedulerOutput decodePlan;

    @Setup(Level.Trial)
    public void setUp() {
        runner = new ModelRunner(new AssemblyOnlyBackend(), SamplerFactory.DEFAULT);
        List<ScheduledChunk> start = new ArrayList<>();
        List<ScheduledChunk> decode = new ArrayList<>();
        for (int i = 0; i < SEQS; i++) {
            int[] prompt = new int[200];
            java.util.Arrays.fill(prompt, i);
            Sequence s = new Sequence(i, "r" + i, prompt, SamplingParams.greedy(100), 0, i);
            int[] blocks = new int[13];
            for (int b = 0; b < 13; b++) blocks[b] = i * 13 + b;
            start.add(new ScheduledChunk(s, 0, prompt.length, blocks, true, true));
            decode.add(new ScheduledChunk(s, 200, 1, new int[0], false, true));
        }
        SchedulerOutput first = SchedulerOutput.of(start, new long[0], new long[0], List.of());
        runner.prepare(first, new int[SEQS], new String[SEQS]);
        decodePlan = SchedulerOutput.of(decode, new long[0], new long[0], List.of());
    }

    @Benchmark
    public int assemble() {
        return runner.prepare(decodePlan, new int[SEQS], new String[SEQS]).chunks().size();
    }

    /** Batch assembly never reaches the backend. */
    private static final class AssemblyOnlyBackend implements Backend {
        @Override
        public GlmConfig config() {
            throw new UnsupportedOperationException();
        }

        @Override
        public String description() {
            return "assembly only";
        }

        @Override
        public int maxKvBlocks(int blockSize) {
            return 0;
        }

        @Override
        public void allocateKvCache(int numBlocks, int blockSize) {}

        @Override
        public float[][] forward(List<SequenceChunk> chunks) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {}
    }
}
