package org.autoglm.kernels.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.autoglm.kernels.CudaBackend;
import org.autoglm.kernels.CudaConfig;
import org.autoglm.kernels.WeightQuantization;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.sampling.SamplingParams;

/**
 * Checks the CUDA backend against a fixture's reference (HF transformers, fp32): all prompts prefilled in one
 * packed launch (last-position logits), the prompts fed token by token through decode steps (top-5 logits at
 * every position: split-K attention and graphs over growing contexts), the prompts in chunks of 7 (chunked
 * prefill over a cached prefix), each prompt alone (bf16 on sm_80+: flash attention, unless
 * {@code flash-attention=false}; then, and in fp32, dense tensor-core attention when
 * {@code dense-attention-min-tokens} is at most its length), 24 greedy tokens with host argmax over
 * returned logits, with GPU sampling, mixed, and for each sequence decoded alone (batch 1: the one-token pass,
 * unless {@code fused-decode=false}), and seeded top-k / top-p sampling. Prints one JSON object per model.
 *
 * <p>{@code java -cp autoglm-node-cuda.jar org.autoglm.kernels.check.ReferenceParity FIXTURES_DIR [fp32|bf16]
 * [NAME=VALUE...] MODEL...}: each {@code NAME=VALUE} is a {@code --cuda-option} ({@link CudaConfig#set}), or
 * {@code quantize=fp8|int8}.
 */
public final class ReferenceParity {

    private static final int BLOCK = 16;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReferenceParity() {}

    public static void main(String[] args) throws IOException {
        Path fixtures = Path.of(args[0]);
        CudaConfig.Precision precision = CudaConfig.Precision.valueOf(args[1].toUpperCase());
        List<String> options = new ArrayList<>();
        List<String> models = new ArrayList<>();
        for (int i = 2; i < args.length; i++) (args[i].contains("=") ? options : models).add(args[i]);
        Consumer<CudaConfig> tuning = cfg -> {
            for (String o : options) {
                if (o.startsWith("quantize=")) cfg.quantize = WeightQuantization.parse(o.substring("quantize=".length()));
                else cfg.set(o);
            }
        };
        tuning.accept(new CudaConfig());   // a bad option stops here, before any GPU work
        boolean allPass = true;
        List<Object> results = new ArrayList<>();
        for (String model : models) {
            Map<String, Object> r = check(fixtures, model, precision, tuning);
            allPass &= Boolean.TRUE.equals(r.get("pass"));
            results.add(r);
        }
        System.out.println(JSON.writeValueAsString(results));
        System.exit(allPass || precision != CudaConfig.Precision.FP32 ? 0 : 1);
    }

    public static Map<String, Object> check(Path fixtures, String model, CudaConfig.Precision precision)
            throws IOException {
        return check(fixtures, model, precision, cfg -> {});
    }

    /** As above, with the backend's settings changed by {@code tuning} first. */
    public static Map<String, Object> check(Path fixtures, String model, CudaConfig.Precision precision,
            Consumer<CudaConfig> tuning) throws IOException {
        CudaConfig chosen = new CudaConfig();
        tuning.accept(chosen);
        JsonNode ref = JSON.readTree(fixtures.resolve(model + ".reference.json").toFile());
        List<int[]> prompts = new ArrayList<>();
        List<float[]> lastLogits = new ArrayList<>();
        List<int[]> greedy = new ArrayList<>();
        for (JsonNode c : ref.get("cases")) {
            prompts.add(ints(c.get("input_ids")));
            lastLogits.add(floats(c.get("last_logits")));
            greedy.add(ints(c.get("greedy_ids")));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", model);
        out.put("precision", precision.name().toLowerCase());
        long t0 = System.nanoTime();
        try (CudaBackend b = CudaBackend.open(fixtures.resolve(model), cfg -> {
            tuning.accept(cfg);
            cfg.precision = precision;
            cfg.gpuMemoryUtilization = 0.5;
            cfg.maxSeqs = 16;
            cfg.maxBatchTokens = 512;
        })) {
            out.put("backend", b.description());
            out.put("open_seconds", (System.nanoTime() - t0) / 1e9);
            int perSeq = (ref.get("cases").get(0).get("input_ids").size() + 64) / BLOCK + 8;
            for (int[] p : prompts) perSeq = Math.max(perSeq, (p.length + 32) / BLOCK + 2);
            b.allocateKvCache(perSeq * prompts.size(), BLOCK);
            final int blocksPerSeq = perSeq;
            int n = prompts.size();
            int[][] tables = new int[n][];
            for (int s = 0; s < n; s++) tables[s] = range(s * blocksPerSeq, blocksPerSeq);

            // 1. every prompt in one packed prefill launch
            List<SequenceChunk> chunks = new ArrayList<>();
            for (int s = 0; s < n; s++) chunks.add(new SequenceChunk(s, prompts.get(s), 0, tables[s], true));
            float[][] logits = b.forward(chunks);
            double prefillDiff = 0;
            for (int s = 0; s < n; s++) prefillDiff = Math.max(prefillDiff, maxDiff(logits[s], lastLogits.get(s)));
            out.put("packed_prefill_max_abs_diff", prefillDiff);

            // 2. greedy decode from there, host argmax over returned logits (decode graphs, padded bucket)
            out.put("greedy_host_exact", greedyMatches(b, prompts, tables, logits, greedy, false));

            // 3. same with sampling on the GPU (greedy)
            float[][] again = b.forward(chunks);
            out.put("greedy_gpu_exact", greedyMatches(b, prompts, tables, again, greedy, true));

            // 3b. mixed steps, as the engine runs them: even sequences sampled on the GPU, odd ones get their logits
            float[][] mixed = b.forward(chunks);
            out.put("greedy_mixed_exact", greedyMixedMatches(b, prompts, tables, mixed, greedy));

            // 3c. each sequence decoded alone (batch 1: the one-token pass, unless fused-decode=false)
            float[][] prefilled = b.forward(chunks);
            boolean alone = true;
            for (int s = 0; s < n; s++) {
                alone &= greedyMatches(b, List.of(prompts.get(s)), new int[][] {tables[s]}, new float[][] {prefilled[s]},
                        List.of(greedy.get(s)), true);
            }
            out.put("greedy_batch1_gpu_exact", alone);

            // 4. prompts fed one token per step: top-5 logits at every position
            double top5Diff = 0;
            int maxLen = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
            for (int t = 0; t < maxLen; t++) {
                List<SequenceChunk> step = new ArrayList<>();
                List<Integer> who = new ArrayList<>();
                for (int s = 0; s < n; s++) {
                    if (t < prompts.get(s).length) {
                        step.add(new SequenceChunk(s, new int[] {prompts.get(s)[t]}, t, tables[s], true));
                        who.add(s);
                    }
                }
                float[][] l = b.forward(step);
                for (int i = 0; i < who.size(); i++) {
                    JsonNode c = ref.get("cases").get(who.get(i));
                    int[] ids = ints(c.get("top5_ids").get(t));
                    float[] vals = floats(c.get("top5_logits").get(t));
                    for (int j = 0; j < ids.length; j++) top5Diff = Math.max(top5Diff, Math.abs(l[i][ids[j]] - vals[j]));
                }
            }
            out.put("token_by_token_top5_max_abs_diff", top5Diff);

            // 5. chunked prefill: pieces of 7 tokens, logits only from the last
            double chunkedDiff = 0;
            for (int s = 0; s < n; s++) {
                int[] p = prompts.get(s);
                float[] last = null;
                for (int start = 0; start < p.length; start += 7) {
                    int end = Math.min(p.length, start + 7);
                    float[][] l = b.forward(List.of(new SequenceChunk(s, Arrays.copyOfRange(p, start, end), start,
                            tables[s], end == p.length)));
                    if (end == p.length) last = l[0];
                }
                chunkedDiff = Math.max(chunkedDiff, maxDiff(last, lastLogits.get(s)));
            }
            out.put("chunked_prefill_max_abs_diff", chunkedDiff);

            // 6. each prompt alone from position 0 (the dense tensor-core attention path when long enough)
            double singleDiff = 0;
            for (int s = 0; s < n; s++) {
                float[][] l = b.forward(List.of(new SequenceChunk(s, prompts.get(s), 0, tables[s], true)));
                singleDiff = Math.max(singleDiff, maxDiff(l[0], lastLogits.get(s)));
            }
            out.put("single_prefill_max_abs_diff", singleDiff);
            out.put("dense_attention_min_tokens", chosen.denseAttentionMinTokens);

            // 7. GPU sampling (temperature 0.8, top-k 5, top-p 0.9, fixed seed): a top-5 token, the same twice
            out.put("sampling_top_k_reproducible", samplingBehaves(b, chunks, ref));

            double worst = Math.max(Math.max(prefillDiff, singleDiff), Math.max(top5Diff, chunkedDiff));
            boolean pass = worst < 1e-3 && Boolean.TRUE.equals(out.get("greedy_host_exact"))
                    && Boolean.TRUE.equals(out.get("greedy_gpu_exact"))
                    && Boolean.TRUE.equals(out.get("greedy_mixed_exact"))
                    && Boolean.TRUE.equals(out.get("greedy_batch1_gpu_exact"))
                    && Boolean.TRUE.equals(out.get("sampling_top_k_reproducible"));
            out.put("pass", pass);
        } catch (RuntimeException e) {
            out.put("pass", false);
            out.put("error", e.toString());
            e.printStackTrace();
        }
        return out;
    }

    private static boolean samplingBehaves(CudaBackend b, List<SequenceChunk> prompts, JsonNode ref) {
        List<SamplingParams> params = new ArrayList<>();
        for (int s = 0; s < prompts.size(); s++) {
            params.add(new SamplingParams(0.8, 0.9, 5, 0, 1, 0, 0, 1234L + s, 1, List.of(), false, -1));
        }
        int[] first = b.forwardAndSample(prompts, params).tokenIds();
        int[] second = b.forwardAndSample(prompts, params).tokenIds();
        boolean ok = Arrays.equals(first, second);
        for (int s = 0; s < prompts.size(); s++) {
            JsonNode top5 = ref.get("cases").get(s).get("top5_ids");
            JsonNode last = top5.get(top5.size() - 1);
            boolean inTop5 = false;
            for (JsonNode id : last) inTop5 |= id.asInt() == first[s];
            ok &= inTop5;
        }
        if (!ok) System.err.println("sampled " + Arrays.toString(first) + " then " + Arrays.toString(second));
        return ok;
    }

    private static boolean greedyMatches(CudaBackend b, List<int[]> prompts, int[][] tables, float[][] first,
            List<int[]> expected, boolean onGpu) {
        int n = prompts.size();
        int steps = expected.get(0).length;
        int[][] got = new int[n][steps];
        int[] next = new int[n];
        for (int s = 0; s < n; s++) next[s] = argmax(first[s]);
        List<SamplingParams> params = new ArrayList<>();
        for (int s = 0; s < n; s++) params.add(SamplingParams.greedy(steps));
        for (int t = 0; t < steps; t++) {
            List<SequenceChunk> chunks = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                got[s][t] = next[s];
                chunks.add(new SequenceChunk(s, new int[] {next[s]}, prompts.get(s).length + t, tables[s], true));
            }
            if (t == steps - 1) break;
            if (onGpu) {
                next = b.forwardAndSample(chunks, params).tokenIds();
            } else {
                float[][] l = b.forward(chunks);
                for (int s = 0; s < n; s++) next[s] = argmax(l[s]);
            }
        }
        boolean all = true;
        for (int s = 0; s < n; s++) all &= Arrays.equals(got[s], expected.get(s));
        if (!all) {
            for (int s = 0; s < n; s++) {
                System.err.println((onGpu ? "gpu" : "host") + " greedy case " + s + ": got " + Arrays.toString(got[s])
                        + " expected " + Arrays.toString(expected.get(s)));
            }
        }
        return all;
    }

    /** Greedy decode where forwardAndSample samples even sequences and returns the odd ones' logits. */
    private static boolean greedyMixedMatches(CudaBackend b, List<int[]> prompts, int[][] tables, float[][] first,
            List<int[]> expected) {
        int n = prompts.size();
        int steps = expected.get(0).length;
        List<SamplingParams> params = new ArrayList<>();
        for (int s = 0; s < n; s++) params.add(s % 2 == 0 ? SamplingParams.greedy(steps) : null);
        int[] next = new int[n];
        for (int s = 0; s < n; s++) next[s] = argmax(first[s]);
        boolean all = true;
        for (int t = 0; t < steps; t++) {
            for (int s = 0; s < n; s++) all &= next[s] == expected.get(s)[t];
            if (t == steps - 1) break;
            List<SequenceChunk> chunks = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                chunks.add(new SequenceChunk(s, new int[] {next[s]}, prompts.get(s).length + t, tables[s], true));
            }
            org.autoglm.models.backend.SampledStep out = b.forwardAndSample(chunks, params);
            for (int s = 0; s < n; s++) {
                boolean gpu = params.get(s) != null;
                if (gpu == (out.logits()[s] != null) || gpu == (out.tokenIds()[s] < 0)) {
                    System.err.println("mixed step " + t + " sequence " + s + ": wrong kind of answer");
                    return false;
                }
                next[s] = gpu ? out.tokenIds()[s] : argmax(out.logits()[s]);
            }
        }
        if (!all) System.err.println("mixed greedy differs from the reference");
        return all;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static double maxDiff(float[] a, float[] b) {
        if (a == null || a.length != b.length) return Double.POSITIVE_INFINITY;
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return Double.isNaN(m) ? Double.POSITIVE_INFINITY : m;
    }

    private static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    private static float[] floats(JsonNode a) {
        float[] r = new float[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = (float) a.get(i).asDouble();
        return r;
    }

    private static int[] range(int first, int count) {
        int[] r = new int[count];
        for (int i = 0; i < count; i++) r[i] = first + i;
        return r;
    }
}
