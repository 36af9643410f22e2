package org.autoglm.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.autoglm.models.djl.DecodeBenchmark;
import org.autoglm.models.djl.DjlBackend;
import org.autoglm.node.cli.DemoModel;

/**
 * Single-sequence prefill and decode speed of the DJL CPU backend, repeated a few times and summarised by medians,
 * with the figures a shared machine cannot distort: tokens per CPU second of the process, and how close decode
 * comes to streaming the weights at {@value #GB_PER_SECOND_PER_CORE} GB/s per core of the intra-op threads
 * (a decode step reads every weight once; see {@link DecodeBenchmark}). Not a test: figures go to the README.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.DecodeSpeed MODEL_DIR|--demo
 *      [--prompt-tokens 128] [--decode-tokens 32] [--batch 8] [--threads 1] [--runs 3]
 * </pre>
 */
public final class DecodeSpeed {

    static final double GB_PER_SECOND_PER_CORE = 10;

    private DecodeSpeed() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || (args[0].startsWith("-") && !args[0].equals("--demo"))) {
            System.err.println("usage: DecodeSpeed MODEL_DIR|--demo [--prompt-tokens 128] [--decode-tokens 32] "
                    + "[--batch 8] [--threads 1] [--runs 3]");
            System.exit(2);
        }
        Path model = args[0].equals("--demo") ? DemoModel.ensure(DemoModel.defaultDir()) : Path.of(args[0]);
        int promptTokens = 128;
        int decodeTokens = 32;
        int batch = 8;
        int threads = 1;
        int runs = 3;
        for (int i = 1; i + 1 < args.length; i += 2) {
            int value = Integer.parseInt(args[i + 1]);
            switch (args[i]) {
                case "--prompt-tokens" -> promptTokens = value;
                case "--decode-tokens" -> decodeTokens = value;
                case "--batch" -> batch = value;
                case "--threads" -> threads = value;
                case "--runs" -> runs = value;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<DecodeBenchmark.Result> results = new ArrayList<>();
        for (int run = 1; run <= runs; run++) {
            System.err.printf("run %d/%d: %s%n", run, runs, LoadAverage.now());
            DecodeBenchmark.Result r = DecodeBenchmark.run(model, promptTokens, decodeTokens, batch,
                    DjlBackend.Options.defaults().withThreads(threads));
            System.err.println("  " + r);
            results.add(r);
            // The weights are memory-mapped; drop this run's mappings before the next run maps them again.
            System.gc();
        }
        double bandwidth = MemoryBandwidth.torchReadGbPerCpuSecond(threads);
        DecodeBenchmark.Result any = results.get(0);
        double weightsGb = any.weightBytesPerToken() / 1e9;
        double limit = threads * GB_PER_SECOND_PER_CORE / weightsGb; // tokens/s if weights streamed at full speed
        double decodePerCpuSecond = median(results, r -> 1 / r.decodeCpuSecondsPerToken());
        System.out.printf("%s, %d intra-op thread(s), %d runs (medians); %s%n", model.getFileName(), threads, runs, LoadAverage.now());
        System.out.printf("  prefill (%d-token prompt): %.1f tok/s wall, %.1f tok per CPU s%n", promptTokens,
                median(results, DecodeBenchmark.Result::prefillTokensPerSecond),
                median(results, DecodeBenchmark.Result::prefillTokensPerCpuSecond));
        System.out.printf("  decode (%d tokens): %.2f tok/s wall, fastest step %.2f tok/s, %.2f tok per CPU s (%.1f ms CPU/token)%n",
                decodeTokens, median(results, DecodeBenchmark.Result::decodeTokensPerSecond),
                median(results, DecodeBenchmark.Result::bestDecodeTokensPerSecond), decodePerCpuSecond,
                1000 / decodePerCpuSecond);
        System.out.printf("  batch %d decode: %.2f steps/s wall (%.1f tok/s)%n", batch,
                median(results, DecodeBenchmark.Result::batchStepsPerSecond),
                batch * median(results, DecodeBenchmark.Result::batchStepsPerSecond));
        System.out.printf("  weights read per decode token %.3f GB; streaming limit at %d x %.0f GB/s = %.1f tok/s;"
                        + " fastest step at %.0f%%, per CPU second at %.0f%% of it%n",
                weightsGb, threads, GB_PER_SECOND_PER_CORE, limit,
                100 * median(results, DecodeBenchmark.Result::bestDecodeTokensPerSecond) / limit,
                100 * decodePerCpuSecond * threads / limit);
        System.out.printf("  measured: PyTorch reads %.1f GB per CPU second here (sum over 1 GiB); decode streams weights"
                        + " at %.1f GB per CPU second = %.0f%% of that%n",
                bandwidth, weightsGb * decodePerCpuSecond, 100 * weightsGb * decodePerCpuSecond / bandwidth);
        // Later runs map the weights again before the last mapping is collected: only the first run's peak is honest.
        System.out.printf("  peak RSS %.2f GiB (first run)%n", any.peakRssBytes() / (double) (1L << 30));
    }

    private static double median(List<DecodeBenchmark.Result> results, ToDoubleFunction<DecodeBenchmark.Result> f) {
        double[] values = results.stream().mapToDouble(f).sorted().toArray();
        return values.length % 2 == 1 ? values[values.length / 2]
                : (values[values.length / 2 - 1] + values[values.length / 2]) / 2;
    }
}
