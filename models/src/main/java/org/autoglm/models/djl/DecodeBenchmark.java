package org.autoglm.models.djl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.weights.DType;
import org.autoglm.models.weights.RandomCheckpointWriter;

/**
 * Measures the DJL backend on one checkpoint: prefill tokens/s (one prompt in one chunk), single-sequence
 * decode tokens/s, batched decode steps/s, peak RSS, and how close decode comes to the weight-streaming limit
 * (every decode step reads all weights but the embedding once). For {@code bench/} and the README figures;
 * not a test.
 *
 * <pre>
 * java -cp ... org.autoglm.models.djl.DecodeBenchmark MODEL_DIR [promptTokens=128] [decodeTokens=16] [batch=8] [threads=1]
 * java -cp ... org.autoglm.models.djl.DecodeBenchmark --write-glm-edge-1.5b DIR [F32|BF16]
 * </pre>
 */
public final class DecodeBenchmark {

    /** Memory bandwidth one core streams at on the reference machine (measured ~10 GB/s). */
    public static final double BYTES_PER_SECOND_PER_CORE = 10e9;

    /**
     * @param weightBytesPerToken fp32 bytes of weights one decode step reads
     * @param streamingLimit      decode tokens/s if weights streamed at {@code cores * 10 GB/s}
     */
    public record Result(String model, double loadSeconds, int promptTokens, double prefillTokensPerSecond,
                         double prefillTokensPerCpuSecond,
                         int decodeTokens, double decodeTokensPerSecond, double bestDecodeTokensPerSecond,
                         double decodeCpuSecondsPerToken,
                         int batch, double batchStepsPerSecond,
                         long peakRssBytes, long weightBytesPerToken, int cores, double streamingLimit) {

        /** Achieved decode speed as a share of the weight-streaming limit. */
        public double streamingEfficiency() {
            return decodeTokensPerSecond / streamingLimit;
        }

        @Override
        public String toString() {
            return String.format(
                    "%s: load %.1f s | prefill %d tokens: %.1f tok/s (%.1f per CPU s) | decode: %.2f tok/s (best step %.2f, %.2f CPU s/token) | batch %d decode: %.2f"
                            + " steps/s (%.1f tok/s) | peak RSS %.2f GiB | %.2f GB weights/token, limit %.2f tok/s"
                            + " at %d x 10 GB/s -> %.0f%% of limit",
                    model, loadSeconds, promptTokens, prefillTokensPerSecond, prefillTokensPerCpuSecond,
                    decodeTokensPerSecond,
                    bestDecodeTokensPerSecond, decodeCpuSecondsPerToken, batch,
                    batchStepsPerSecond, batchStepsPerSecond * batch, peakRssBytes / (double) (1L << 30),
                    weightBytesPerToken / 1e9, streamingLimit, cores, 100 * streamingEfficiency());
        }
    }

    private static final int BLOCK_SIZE = 16;

    private DecodeBenchmark() {}

    public static Result run(Path modelDir, int promptTokens, int decodeTokens, int batch) {
        return run(modelDir, promptTokens, decodeTokens, batch, DjlBackend.Options.defaults());
    }

    public static Result run(Path modelDir, int promptTokens, int decodeTokens, int batch,
                             DjlBackend.Options options) {
        long loadStart = System.nanoTime();
        try (DjlBackend backend = DjlBackend.load(modelDir, options)) {
            double loadSeconds = seconds(loadStart);
            GlmConfig config = backend.config();
            int maxLength = promptTokens + decodeTokens + 2;
            int blocksPerSequence = (maxLength + BLOCK_SIZE - 1) / BLOCK_SIZE;
            backend.allocateKvCache(blocksPerSequence * (batch + 1), BLOCK_SIZE);
            SplittableRandom random = new SplittableRandom(1);
            int[] prompt = random.ints(promptTokens, 0, config.vocabSize()).toArray();

            // prefill: the whole prompt in one chunk (after a short warm-up step)
            int[] table = blockTable(0, blocksPerSequence);
            backend.forward(List.of(new SequenceChunk(0, new int[] {prompt[0]}, 0, table, true)));
            long start = System.nanoTime();
            long prefillCpuStart = processCpuNanos();
            float[] logits = backend.forward(List.of(new SequenceChunk(0, prompt, 0, table, true)))[0];
            double prefill = promptTokens / seconds(start);
            double prefillPerCpuSecond = promptTokens / ((processCpuNanos() - prefillCpuStart) / 1e9);

            // single-sequence decode, greedy; the fastest step shows the speed without interference
            int position = promptTokens;
            start = System.nanoTime();
            long cpuStart = processCpuNanos();
            double fastestStep = Double.MAX_VALUE;
            for (int i = 0; i < decodeTokens; i++) {
                int next = argmax(logits);
                long stepStart = System.nanoTime();
                logits = backend.forward(List.of(new SequenceChunk(0, new int[] {next}, position++, table, true)))[0];
                fastestStep = Math.min(fastestStep, seconds(stepStart));
            }
            double decode = decodeTokens / seconds(start);
            double decodeCpuSecondsPerToken = (processCpuNanos() - cpuStart) / 1e9 / decodeTokens;

            // batched decode: `batch` sequences of 1-token prompts, a few steps each
            List<int[]> tables = new ArrayList<>();
            for (int s = 0; s < batch; s++) {
                tables.add(blockTable(s + 1, blocksPerSequence));
            }
            int steps = Math.max(2, decodeTokens / 4);
            start = System.nanoTime();
            for (int step = 0; step < steps; step++) {
                List<SequenceChunk> chunks = new ArrayList<>();
                for (int s = 0; s < batch; s++) {
                    chunks.add(new SequenceChunk(s + 1, new int[] {prompt[(s + step) % promptTokens]}, step,
                            tables.get(s), true));
                }
                backend.forward(chunks);
            }
            double batchSteps = steps / seconds(start);

            long bytesPerToken = decodeWeightBytes(config);
            int cores = Runtime.getRuntime().availableProcessors();
            double limit = cores * BYTES_PER_SECOND_PER_CORE / bytesPerToken;
            return new Result(modelDir.getFileName().toString(), loadSeconds, promptTokens, prefill,
                    prefillPerCpuSecond, decodeTokens,
                    decode, 1 / fastestStep, decodeCpuSecondsPerToken, batch, batchSteps, peakRssBytes(), bytesPerToken, cores, limit);
        }
    }

    /** fp32 weight bytes a decode step streams: every layer, final norm and lm_head (embedding: one row). */
    static long decodeWeightBytes(GlmConfig c) {
        long d = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long perLayer = d * q + 2 * d * kv + q * d + 2 * d * c.intermediateSize() + c.intermediateSize() * d;
        return 4 * (c.numLayers() * perLayer + (long) c.vocabSize() * d);
    }

    private static int[] blockTable(int sequence, int blocks) {
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            table[i] = sequence * blocks + i;
        }
        return table;
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** CPU time of the whole process (all threads), so figures can be read on a machine shared with others. */
    private static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : 0;
    }

    /** VmHWM of this process (Linux), or -1. */
    static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    public static void main(String[] args) throws IOException {
        if (args.length >= 2 && args[0].equals("--write-glm-edge-1.5b")) {
            DType dtype = args.length > 2 ? DType.valueOf(args[2]) : DType.F32;
            long start = System.nanoTime();
            RandomCheckpointWriter.write(Path.of(args[1]), RandomCheckpointWriter.glmEdge15bShape("glm"), dtype, 42);
            System.err.printf("wrote %s (%s) in %.0f s%n", args[1], dtype, seconds(start));
            return;
        }
        if (args.length < 1) {
            System.err.println("usage: DecodeBenchmark MODEL_DIR [promptTokens] [decodeTokens] [batch] [threads]"
                    + " | --write-glm-edge-1.5b DIR [F32|BF16]");
            System.exit(2);
        }
        int prompt = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int decode = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 8;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        System.out.println(run(Path.of(args[0]), prompt, decode, batch,
                DjlBackend.Options.defaults().withThreads(threads)));
    }
}
