package org.autoglm.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.autoglm.kernels.cpu.CpuBackend;
import org.autoglm.kernels.cpu.CpuOptions;
import org.autoglm.kernels.cpu.WeightType;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.weights.DType;
import org.autoglm.models.weights.RandomCheckpointWriter;

/**
 * Speed of the CPU backend ({@code --backend cpu}), in the shapes llama-bench reports so that {@code bench/cpu-vs-llama.sh}
 * can put them side by side: prefill of a 128-token prompt ({@code pp128}), single-sequence decode ({@code tg},
 * tokens/s from an empty context), decode of 8 sequences at once, resident memory against the weights, and the memory
 * bandwidth Java threads read (so decode can be given as a share of the weight-streaming limit).
 * After one untimed warm-up pass, medians of {@code --runs}. Not a test: figures go to the README.
 *
 * <pre>
 * java --add-modules=jdk.incubator.vector -cp bench/target/benchmarks.jar org.autoglm.bench.CpuDecode MODEL_DIR
 *      [--quantize q8_0|q4_0] [--threads N] [--prompt 128] [--decode 32] [--batch 8] [--runs 3]
 * java ... CpuDecode --write DIR --dtype f32|bf16        (a random glm-edge-1.5b-shaped glm4 checkpoint)
 * java ... CpuDecode --bandwidth [--threads N]
 * </pre>
 */
public final class CpuDecode {

    private CpuDecode() {}

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        if (o.write != null) {
            GlmConfig shape = RandomCheckpointWriter.glmEdge15bShape("glm4");
            RandomCheckpointWriter.write(Path.of(o.write), shape, o.dtype, 42);
            System.out.println("wrote " + o.write);
            return;
        }
        if (o.bandwidthOnly) {
            System.out.printf(Locale.ROOT, "bandwidth %.1f GB/s (%d threads, %s)%n", bandwidth(o.threads), o.threads,
                    LoadAverage.now());
            return;
        }
        run(o);
    }

    private static void run(Options o) throws InterruptedException {
        CpuOptions options = CpuOptions.defaults().withThreads(o.threads)
                .withQuantize(o.quantize == null ? null : WeightType.parseQuantization(o.quantize));
        long loadStart = System.nanoTime();
        try (CpuBackend backend = CpuBackend.load(Path.of(o.model), options)) {
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            GlmConfig c = backend.config();
            int blockSize = 16;
            int perSeq = (Math.max(o.prompt, o.decode) + blockSize) / blockSize + 1;
            backend.allocateKvCache(perSeq * Math.max(1, o.batch), blockSize);
            long kvBytes = 2L * c.numLayers() * perSeq * Math.max(1, o.batch) * blockSize * c.numKvHeads()
                    * c.headDim() * 4;
            SplittableRandom random = new SplittableRandom(1);
            warmUp(backend, o, perSeq, c.vocabSize());
            List<Double> prefill = new ArrayList<>();
            List<Double> decode = new ArrayList<>();
            List<Double> batched = new ArrayList<>();
            List<Double> stepMicros = new ArrayList<>();
            List<Double> decodeCpu = new ArrayList<>();
            List<Double> batchedCpu = new ArrayList<>();
            for (int run = 0; run < o.runs; run++) {
                // pp: one prompt of o.prompt tokens
                int[] prompt = random.ints(o.prompt, 0, c.vocabSize()).toArray();
                long t0 = System.nanoTime();
                backend.forward(List.of(new SequenceChunk(1, prompt, 0, table(0, perSeq), true)));
                prefill.add(o.prompt / ((System.nanoTime() - t0) / 1e9));
                // tg: o.decode tokens from an empty context, one per step
                int[] tbl = table(0, perSeq);
                long t1 = System.nanoTime();
                long cpu1 = processCpuNanos();
                int token = 1;
                for (int s = 0; s < o.decode; s++) {
                    long st = System.nanoTime();
                    float[] logits = backend.forward(List.of(new SequenceChunk(1, new int[] {token}, s, tbl, true)))[0];
                    stepMicros.add((System.nanoTime() - st) / 1e3);
                    token = argmax(logits);
                }
                decode.add(o.decode / ((System.nanoTime() - t1) / 1e9));
                decodeCpu.add(o.decode / ((processCpuNanos() - cpu1) / 1e9));
                // o.batch sequences decoding together
                if (o.batch > 1) {
                    int[] tokens = new int[o.batch];
                    long t2 = System.nanoTime();
                    long cpu2 = processCpuNanos();
                    for (int s = 0; s < o.decode; s++) {
                        List<SequenceChunk> chunks = new ArrayList<>();
                        for (int b = 0; b < o.batch; b++) {
                            chunks.add(new SequenceChunk(b, new int[] {tokens[b] + b}, s, table(b * perSeq, perSeq),
                                    true));
                        }
                        float[][] logits = backend.forward(chunks);
                        for (int b = 0; b < o.batch; b++) tokens[b] = argmax(logits[b]) % (c.vocabSize() - o.batch);
                    }
                    batched.add((double) o.batch * o.decode / ((System.nanoTime() - t2) / 1e9));
                    batchedCpu.add((double) o.batch * o.decode / ((processCpuNanos() - cpu2) / 1e9));
                }
            }
            long weightBytes = backend.weightBytes();
            long streamed = weightBytes - (long) c.vocabSize() * c.hiddenSize() * embeddingBytes(backend);
            double rssGb = rssBytes() / 1e9;
            System.out.printf(Locale.ROOT, "model %s, weights %s, %s%n", Path.of(o.model).getFileName(),
                    backend.description(), LoadAverage.now());
            System.out.printf(Locale.ROOT, "load %.1f s; weights %.2f GB (%.2f GB read per decode step); KV %.2f GB;"
                    + " RSS %.2f GB = %.2fx (weights + KV)%n", loadSeconds, weightBytes / 1e9, streamed / 1e9,
                    kvBytes / 1e9, rssGb, rssGb * 1e9 / (weightBytes + kvBytes));
            System.out.println("resident by mapping: " + residentByMapping());
            System.out.printf(Locale.ROOT, "pp%d %.2f tok/s | tg%d %.2f tok/s (median step %.0f us) | batch %d: %.2f tok/s"
                            + " = %.2fx single%n", o.prompt, median(prefill), o.decode, median(decode),
                    median(stepMicros), o.batch, batched.isEmpty() ? 0 : median(batched),
                    batched.isEmpty() ? 0 : median(batched) / median(decode));
            // per CPU second of the whole process (the pool's spinning included): what a loaded machine distorts least
            System.out.printf(Locale.ROOT, "per CPU second: tg %.2f tok | batch %d: %.2f tok = %.2fx single%n",
                    median(decodeCpu), o.batch, batchedCpu.isEmpty() ? 0 : median(batchedCpu),
                    batchedCpu.isEmpty() ? 0 : median(batchedCpu) / median(decodeCpu));
            if (o.bandwidth) {
                double gbs = bandwidth(o.threads);
                double limit = gbs * 1e9 / streamed;
                System.out.printf(Locale.ROOT, "bandwidth %.1f GB/s -> limit %.2f tok/s; decode at %.0f %% of it%n", gbs,
                        limit, 100 * median(decode) / limit);
            }
            System.out.printf(Locale.ROOT, "RESULT %s %s pp=%.3f tg=%.3f batch=%.3f step_us=%.1f rss_ratio=%.3f batch_cpu_ratio=%.3f%n",
                    Path.of(o.model).getFileName(), o.quantize == null ? "stored" : o.quantize, median(prefill),
                    median(decode), batched.isEmpty() ? 0 : median(batched), median(stepMicros),
                    rssGb * 1e9 / (weightBytes + kvBytes),
                    batchedCpu.isEmpty() ? 0 : median(batchedCpu) / median(decodeCpu));
        }
    }

    /**
     * One untimed pass over every path the timed runs take (a short prompt, single and batched decode steps), so that
     * the JIT has compiled the kernels before the clock starts (llama-bench warms up the same way). On a loaded machine
     * C2 can take many seconds to get to them.
     */
    private static void warmUp(CpuBackend backend, Options o, int perSeq, int vocab) {
        // the whole prompt: prefill's kernel runs other register blocks at 32 tokens than at 64 and more
        int[] prompt = new SplittableRandom(2).ints(o.prompt, 0, vocab).toArray();
        backend.forward(List.of(new SequenceChunk(1, prompt, 0, table(0, perSeq), true)));
        for (int s = 0; s < 24; s++) {
            backend.forward(List.of(new SequenceChunk(1, new int[] {s}, prompt.length + s, table(0, perSeq), true)));
        }
        if (o.batch > 1) {
            for (int s = 0; s < 4; s++) {
                List<SequenceChunk> chunks = new ArrayList<>();
                for (int b = 0; b < o.batch; b++) {
                    chunks.add(new SequenceChunk(b, new int[] {b}, s, table(b * perSeq, perSeq), true));
                }
                backend.forward(chunks);
            }
        }
    }

    /** Bytes per embedding weight as stored (the embedding is read by row, never streamed). */
    private static int embeddingBytes(CpuBackend backend) {
        String d = backend.config().torchDtype();
        return d.contains("32") ? 4 : 2;
    }

    private static int[] table(int first, int blocks) {
        int[] t = new int[blocks];
        for (int i = 0; i < blocks; i++) t[i] = first + i;
        return t;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length == 0 ? 0 : v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Resident bytes per mapped file and of anonymous memory (heap, stacks, code), from /proc/self/smaps. */
    static String residentByMapping() {
        java.util.Map<String, Long> byName = new java.util.TreeMap<>();
        try {
            String name = null;
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
                if (Character.isDigit(line.charAt(0)) || (line.charAt(0) >= 'a' && line.charAt(0) <= 'f'
                        && line.indexOf('-') > 0 && line.indexOf('-') < 17)) {
                    String[] f = line.trim().split("\\s+", 6);
                    name = f.length < 6 ? "anonymous" : f[5].startsWith("/") ? Path.of(f[5]).getFileName().toString()
                            : "anonymous";
                    if (name.endsWith(".so") || name.contains(".so.") || name.endsWith(".jar")
                            || name.equals("modules")) {
                        name = "libraries, jars";
                    }
                } else if (line.startsWith("Rss:") && name != null) {
                    byName.merge(name, Long.parseLong(line.replaceAll("\\D", "")) * 1024, Long::sum);
                }
            }
        } catch (Exception e) {
            return "unknown (" + e + ")";
        }
        StringBuilder sb = new StringBuilder();
        byName.entrySet().stream().filter(e -> e.getValue() >= 1 << 20)
                .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
                .forEach(e -> sb.append(sb.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%s %.3f GB",
                        e.getKey(), e.getValue() / 1e9)));
        Runtime rt = Runtime.getRuntime();
        return sb + String.format(Locale.ROOT, " (heap committed %.3f GB, used %.3f GB)", rt.totalMemory() / 1e9,
                (rt.totalMemory() - rt.freeMemory()) / 1e9);
    }

    static long rssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        } catch (Exception e) {
            // not Linux
        }
        return 0;
    }

    static double bandwidth(int threads) throws InterruptedException {
        return MemoryBandwidth.javaReadGbPerSecond(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
    }

    private static final class Options {
        String model;
        String write;
        DType dtype = DType.F32;
        String quantize;
        int threads = 0;
        int prompt = 128;
        int decode = 32;
        int batch = 8;
        int runs = 3;
        boolean bandwidth;
        boolean bandwidthOnly;

        static Options parse(String[] args) {
            Options o = new Options();
            List<String> a = Arrays.asList(args);
            for (int i = 0; i < a.size(); i++) {
                String k = a.get(i);
                switch (k) {
                    case "--write" -> o.write = a.get(++i);
                    case "--dtype" -> o.dtype = DType.valueOf(a.get(++i).toUpperCase(Locale.ROOT));
                    case "--quantize" -> o.quantize = a.get(++i);
                    case "--threads" -> o.threads = Integer.parseInt(a.get(++i));
                    case "--prompt" -> o.prompt = Integer.parseInt(a.get(++i));
                    case "--decode" -> o.decode = Integer.parseInt(a.get(++i));
                    case "--batch" -> o.batch = Integer.parseInt(a.get(++i));
                    case "--runs" -> o.runs = Integer.parseInt(a.get(++i));
                    case "--bandwidth" -> {
                        if (o.model == null && o.write == null) o.bandwidthOnly = true;
                        o.bandwidth = true;
                    }
                    default -> {
                        if (k.startsWith("-")) throw new IllegalArgumentException("unknown option " + k);
                        o.model = k;
                        o.bandwidthOnly = false;
                    }
                }
            }
            if (o.model == null && o.write == null && !o.bandwidthOnly) {
                throw new IllegalArgumentException("usage: CpuDecode MODEL_DIR [--quantize q8_0|q4_0] [--threads N]"
                        + " [--prompt 128] [--decode 32] [--batch 8] [--runs 3] [--bandwidth] | --write DIR --dtype"
                        + " f32|bf16 | --bandwidth");
            }
            return o;
        }
    }
}
