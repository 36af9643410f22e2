package org.autoglm.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.kv.BlockPool;
import org.autoglm.node.engine.kv.KvCacheManager;
import org.autoglm.node.engine.policy.FcfsPolicy;
import org.autoglm.node.engine.policy.SchedulingPolicy;
import org.autoglm.node.engine.scheduler.Scheduler;
import org.autoglm.node.engine.scheduler.SchedulerOutput;
import org.autoglm.node.engine.scheduler.Sequence;
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
 * One scheduler iteration ({@code schedule()} + {@code update()}) with 256 running sequences decoding and 256
 * waiting. Sequences finish at their max_tokens and are replaced by new waiting ones, so the state stays
 * steady: most iterations are pure decode steps, some admit a new prompt (prefix lookup, chunked prefill).
 * Target: 20 µs/op.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SchedulerBenchmark {

    @Param({"fcfs", "priority", "sjf", "mlfq"})
    public String policy;

    private static final int RUNNING = 256;
    private static final int WAITING = 256;
    private static final int PROMPT = 128;

    private Scheduler scheduler;
    private final SplittableRandom random = new SplittableRandom(42);
    private long nextId;
    private long clock;

    @Setup(Level.Trial)
    public void setUp() {
        SchedulingPolicy p = SchedulingPolicy.byName(policy, java.time.Duration.ofSeconds(1), 16, 4);
        // Room for every running sequence at its longest (128 + 320 tokens = 28 blocks) with no preemption.
        KvCacheManager kv = new KvCacheManager(new BlockPool(RUNNING * 28 + 64), 16, true);
        scheduler = new Scheduler(RUNNING, 8192, kv, p);
        for (int i = 0; i < RUNNING; i++) addSequence();
        while (scheduler.numWaiting() > 0) step();
        for (int i = 0; i < WAITING; i++) addSequence();
    }

    private void addSequence() {
        int[] prompt = new int[PROMPT];
        for (int i = 0; i < PROMPT; i++) prompt[i] = random.nextInt(151_552);
        int maxTokens = 64 + random.nextInt(256); // staggered, so finishes are spread over iterations
        scheduler.add(new Sequence(nextId++, "r" + nextId, prompt, SamplingParams.greedy(maxTokens),
                random.nextInt(4), clock++));
    }

    @Benchmark
    public int step() {
        SchedulerOutput plan = scheduler.schedule();
        int[] sampled = new int[plan.size()];
        for (int i = 0; i < sampled.length; i++) sampled[i] = plan.wantLogits(i) ? 1234 : Scheduler.NO_TOKEN;
        scheduler.update(plan, sampled);
        List<Sequence> done = null;
        for (int i = 0; i < plan.size(); i++) {
            Sequence s = plan.sequence(i);
            if (s.numOutputTokens() >= s.params().maxTokens()) {
                if (done == null) done = new ArrayList<>();
                done.add(s);
            }
        }
        if (done != null) {
            for (Sequence s : done) {
                scheduler.finish(s);
                addSequence();
            }
        }
        return plan.size();
    }
}
