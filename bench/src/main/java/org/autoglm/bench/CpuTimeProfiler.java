package org.autoglm.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * Reports each average-time score scaled by the share of a core the benchmark threads actually got:
 * {@code cpu/op = score * (worker thread CPU time / wall time)}. On a machine shared with other busy processes
 * the wall-clock score grows with the load; this figure stays close to the cost of the operation on an idle core.
 * It leaves out JIT and GC threads. Use with {@code -prof org.autoglm.bench.CpuTimeProfiler}.
 */
public final class CpuTimeProfiler implements InternalProfiler {

    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private Map<Long, Long> cpuAtStart = Map.of();
    private long wallAtStart;

    @Override
    public String getDescription() {
        return "score scaled by the CPU share of the jmh-worker threads (cpu/op, same unit as the score)";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        cpuAtStart = workerCpuNanos();
        wallAtStart = System.nanoTime();
    }

    @Override
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams,
                                                       IterationResult result) {
        long wall = System.nanoTime() - wallAtStart;
        long cpu = 0;
        for (Map.Entry<Long, Long> e : workerCpuNanos().entrySet()) {
            cpu += e.getValue() - cpuAtStart.getOrDefault(e.getKey(), 0L);
        }
        int workers = benchmarkParams.getThreads();
        double share = Math.min(1.0, (double) cpu / wall / workers);
        ScalarResult shareResult = new ScalarResult("cpu.share", share, "core", AggregationPolicy.AVG);
        if (benchmarkParams.getMode() != Mode.AverageTime) return List.of(shareResult); // scaling holds for time/op only
        double score = result.getPrimaryResult().getScore();
        return List.of(
                new ScalarResult("cpu/op", score * share, result.getScoreUnit(), AggregationPolicy.AVG),
                shareResult);
    }

    /** CPU time of every live JMH worker thread, by thread id. */
    private Map<Long, Long> workerCpuNanos() {
        Map<Long, Long> cpu = new HashMap<>();
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && info.getThreadName().contains("jmh-worker")) {
                long nanos = threads.getThreadCpuTime(info.getThreadId());
                if (nanos >= 0) cpu.put(info.getThreadId(), nanos);
            }
        }
        return cpu;
    }
}
