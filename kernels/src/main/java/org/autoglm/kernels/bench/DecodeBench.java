package org.autoglm.kernels.bench;

import static org.autoglm.kernels.cuda.CuDriver.check;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.autoglm.kernels.CudaBackend;
import org.autoglm.kernels.CudaConfig;
import org.autoglm.kernels.OperationTime;
import org.autoglm.kernels.cuda.CuDriver;
import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.kernels.cuda.DeviceBuffer;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.sampling.SamplingParams;

/**
 * Decode and prefill throughput of the CUDA backend on random bf16 weights of a given shape, next to the
 * weight-streaming limit (weight bytes / measured device copy bandwidth). Timing is wall clock around
 * synchronised GPU work; greedy sampling runs on the GPU, so only token ids cross to the host.
 */
public final class DecodeBench {

    private static final int BLOCK_SIZE = 16;
    private static final int LONG_PROMPT = 2048;
    private static final int WARMUP_STEPS = 2;

    private DecodeBench() {}

    /**
     * Runs the benchmark and returns its figures as an ordered map (printed as JSON by the CLI). With
     * {@code profile}, the prefill and each batch size's decode also get their GPU time per kind of kernel.
     */
    public static Map<String, Object> run(String shape, List<Integer> batches, int promptTokens, int newTokens,
            Consumer<CudaConfig> settings, boolean profile) {
        return run(shape, null, batches, promptTokens, newTokens, settings, profile);
    }

    /**
     * As above, on the checkpoint in {@code model} (its own weights and shape; {@code bench serve}'s ceiling for the
     * same model) when it is not null, else on random weights of {@code shape}.
     */
    public static Map<String, Object> run(String shape, java.nio.file.Path model, List<Integer> batches,
            int promptTokens, int newTokens, Consumer<CudaConfig> settings, boolean profile) {
        GlmConfig c = model != null ? org.autoglm.models.config.GlmConfigReader.read(model) : BenchShapes.byName(shape);
        int maxBatch = Collections.max(batches);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("shape", model != null ? model.getFileName().toString() : shape);
        Consumer<CudaConfig> configure = cfg -> {
            settings.accept(cfg);
            cfg.maxSeqs = Math.max(maxBatch, 1);
            cfg.maxModelLen = Math.max(LONG_PROMPT, promptTokens + newTokens) + BLOCK_SIZE;
        };
        try (CudaBackend backend = model != null ? CudaBackend.open(model, configure)
                : CudaBackend.random(c, 42, configure)) {
            out.put("device", backend.description());
            long weightBytes = backend.weightBytes();
            double bandwidth = copyBandwidth(backend.device());
            out.put("weight_bytes", weightBytes);
            out.put("copy_bandwidth_GBps", round(bandwidth / 1e9));
            double limit = bandwidth / weightBytes;
            out.put("weight_streaming_limit_steps_per_s", round(limit));

            int blocksPerSeq = (promptTokens + newTokens + BLOCK_SIZE - 1) / BLOCK_SIZE + 1;
            int longPromptBlocks = (LONG_PROMPT + BLOCK_SIZE - 1) / BLOCK_SIZE;
            int blocks = Math.max(maxBatch * blocksPerSeq, longPromptBlocks);
            blocks = Math.min(blocks, backend.maxKvBlocks(BLOCK_SIZE));
            backend.allocateKvCache(blocks, BLOCK_SIZE);
            Random random = new Random(7);

            out.put("prefill_" + LONG_PROMPT + "_tok_per_s", round(prefillLongPrompt(backend, c, random, blocks, out,
                    profile)));
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int batch : batches) {
                rows.add(decode(backend, c, random, batch, promptTokens, newTokens, blocksPerSeq, blocks, limit,
                        profile));
            }
            out.put("decode", rows);
        }
        return out;
    }

    private static double prefillLongPrompt(CudaBackend backend, GlmConfig c, Random random, int blocks,
            Map<String, Object> out, boolean profile) {
        int needed = (LONG_PROMPT + BLOCK_SIZE - 1) / BLOCK_SIZE;
        int[] table = range(0, Math.min(needed, blocks));
        if (table.length < needed) return Double.NaN;
        List<SequenceChunk> prompt = List.of(new SequenceChunk(1, randomTokens(random, c, LONG_PROMPT), 0, table, true));
        List<SamplingParams> greedy = List.of(SamplingParams.greedy(1));
        backend.forwardAndSample(prompt, greedy);   // warm-up: cuBLAS heuristics, caches
        long t0 = System.nanoTime();
        backend.forwardAndSample(prompt, greedy);
        double tokPerS = LONG_PROMPT / ((System.nanoTime() - t0) / 1e9);
        if (profile) out.put("prefill_" + LONG_PROMPT + "_gpu_us_by_kernel", profile(backend, prompt, greedy, 2));
        return tokPerS;
    }

    /** GPU microseconds per step by kind of kernel (most expensive first), and their sum. */
    private static Map<String, Object> profile(CudaBackend backend, List<SequenceChunk> step,
            List<SamplingParams> params, int repeats) {
        Map<String, Object> byKernel = new LinkedHashMap<>();
        double total = 0;
        int launches = 0;
        for (OperationTime t : backend.profileStep(step, params, repeats)) {
            byKernel.put(t.operation(), Map.of("us", round(t.microsPerStep()), "launches", t.launchesPerStep()));
            total += t.microsPerStep();
            launches += t.launchesPerStep();
        }
        byKernel.put("total", Map.of("us", round(total), "launches", launches));
        return byKernel;
    }

    private static Map<String, Object> decode(CudaBackend backend, GlmConfig c, Random random, int batch,
            int promptTokens, int newTokens, int blocksPerSeq, int blocks, double limit, boolean profile) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("batch", batch);
        if ((long) batch * blocksPerSeq > blocks) {
            row.put("skipped", "KV cache holds " + blocks + " blocks, batch needs " + (long) batch * blocksPerSeq);
            return row;
        }
        List<SequenceChunk> prompts = new ArrayList<>();
        List<SamplingParams> params = new ArrayList<>();
        for (int s = 0; s < batch; s++) {
            int[] table = range(s * blocksPerSeq, blocksPerSeq);
            prompts.add(new SequenceChunk(100 + s, randomTokens(random, c, promptTokens), 0, table, true));
            params.add(SamplingParams.greedy(newTokens));
        }
        long t0 = System.nanoTime();
        int[] next = backend.forwardAndSample(prompts, params).tokenIds();
        double prefillSeconds = (System.nanoTime() - t0) / 1e9;
        row.put("prefill_tok_per_s", round((double) batch * promptTokens / prefillSeconds));

        int[] first = next.clone();
        int[][] drawn = new int[newTokens][];
        int timedSteps = Math.max(1, newTokens - WARMUP_STEPS);
        long start = 0;
        for (int step = 0; step < newTokens; step++) {
            if (step == newTokens - timedSteps) start = System.nanoTime();
            List<SequenceChunk> chunks = new ArrayList<>(batch);
            for (int s = 0; s < batch; s++) {
                SequenceChunk p = prompts.get(s);
                chunks.add(new SequenceChunk(p.sequenceId(), new int[] {Math.max(0, next[s])}, promptTokens + step,
                        p.blockTable(), true));
            }
            next = backend.forwardAndSample(chunks, params).tokenIds();
            drawn[step] = next;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double steps = timedSteps / seconds;
        row.put("decode_steps_per_s", round(steps));
        row.put("decode_tok_per_s", round(steps * batch));
        row.put("pct_of_streaming_limit", round(100 * steps / limit));
        if (backend.feedsSampledIds()) asyncDecode(backend, row, prompts, params, promptTokens, first, drawn, timedSteps);
        long[] trace = batch == 1 ? backend.kernelTrace() : new long[0];   // empty unless compiled with AUTOGLM_TRACE
        if (trace.length > 0) row.put("trace_us", StepTrace.summarize(trace));
        if (profile) {
            // the next step once more, kernel by kernel (graph step time for comparison: 1e6 / decode_steps_per_s)
            List<SequenceChunk> chunks = new ArrayList<>(batch);
            for (int s = 0; s < batch; s++) {
                SequenceChunk p = prompts.get(s);
                chunks.add(new SequenceChunk(p.sequenceId(), new int[] {Math.max(0, next[s])}, promptTokens + newTokens,
                        p.blockTable(), true));
            }
            row.put("graph_step_us", round(1e6 / steps));
            row.put("gpu_us_by_kernel", profile(backend, chunks, params, 5));
        }
        return row;
    }

    /**
     * The same decode steps again the way the engine runs them with asynchronous scheduling: step n+1 is submitted
     * with {@link SequenceChunk#PREVIOUS_SAMPLE} (its ids fed on the GPU) before step n's ids are read. Adds the step
     * rate, the wall time per step of both ways, and the share of step-by-step ids equal to the synchronous run's
     * (the same positions recomputed from the same prompt KV: 1.0 when the feed is right).
     */
    private static void asyncDecode(CudaBackend backend, Map<String, Object> row, List<SequenceChunk> prompts,
            List<SamplingParams> params, int promptTokens, int[] first, int[][] syncIds, int timedSteps) {
        int batch = prompts.size();
        int newTokens = syncIds.length;
        long equal = 0;
        long start = 0;
        org.autoglm.models.backend.PendingStep inFlight = null;
        for (int step = 0; step < newTokens; step++) {
            if (step == newTokens - timedSteps) start = System.nanoTime();
            List<SequenceChunk> chunks = new ArrayList<>(batch);
            for (int s = 0; s < batch; s++) {
                SequenceChunk p = prompts.get(s);
                int token = step == 0 ? Math.max(0, first[s]) : SequenceChunk.PREVIOUS_SAMPLE;
                chunks.add(new SequenceChunk(p.sequenceId(), new int[] {token}, promptTokens + step, p.blockTable(), true));
            }
            org.autoglm.models.backend.PendingStep submitted = backend.submit(chunks, params);
            if (inFlight != null) equal += agreeing(inFlight.await().tokenIds(), syncIds[step - 1]);
            inFlight = submitted;
        }
        equal += agreeing(inFlight.await().tokenIds(), syncIds[newTokens - 1]);
        double seconds = (System.nanoTime() - start) / 1e9;
        double steps = timedSteps / seconds;
        row.put("async_decode_steps_per_s", round(steps));
        row.put("async_step_us", round(1e6 / steps));
        row.put("sync_step_us", round(1e6 / (double) row.get("decode_steps_per_s")));
        row.put("async_ids_equal_to_sync", round((double) equal / ((long) batch * newTokens)));
    }

    private static int agreeing(int[] a, int[] b) {
        int n = 0;
        for (int i = 0; i < a.length; i++) if (a[i] == b[i]) n++;
        return n;
    }

    /** Device-to-device copy rate, counting bytes read and written (the rate at which weights can stream). */
    static double copyBandwidth(CudaDevice device) {
        long bytes = 1L << 30;
        try (DeviceBuffer a = device.allocate(bytes, "bandwidth probe"); DeviceBuffer b = device.allocate(bytes, "bandwidth probe")) {
            check(CuDriver.cuMemcpyDtoDAsync_v2(b.address(), a.address(), bytes, device.stream()), "cuMemcpyDtoDAsync");
            device.synchronize();
            int reps = 20;
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                check(CuDriver.cuMemcpyDtoDAsync_v2(b.address(), a.address(), bytes, device.stream()),
                        "cuMemcpyDtoDAsync");
            }
            device.synchronize();
            return 2.0 * bytes * reps / ((System.nanoTime() - t0) / 1e9);
        }
    }

    private static int[] randomTokens(Random random, GlmConfig c, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(c.vocabSize());
        return t;
    }

    private static int[] range(int first, int count) {
        int[] r = new int[count];
        for (int i = 0; i < count; i++) r[i] = first + i;
        return r;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
