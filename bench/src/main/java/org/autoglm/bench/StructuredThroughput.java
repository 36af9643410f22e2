package org.autoglm.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.autoglm.models.djl.DjlBackend;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.structured.OutputConstraint;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.autoglm.node.cli.DemoModel;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.Engine;
import org.autoglm.node.engine.EngineOptions;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.engine.grammar.StructuredOutput;

/**
 * Decode throughput of the engine with a JSON schema against the same engine without one, measured in the same run:
 * at each concurrency, rounds alternate free and constrained requests (closed loop, random prompts, a fixed number of
 * output tokens), and the medians are compared. The schema's output is long enough to reach the token limit (a free
 * string), so both kinds generate the same number of tokens and the grammar's masks are over a large allowed set.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.StructuredThroughput MODEL_DIR|--demo
 *      [--schema FILE] [--concurrency 1,32] [--max-tokens 64] [--prompt-tokens 16] [--rounds 3]
 * </pre>
 * Give it a checkpoint with a real-size vocabulary: mask cost grows with the vocabulary. The node's
 * {@code init-demo DIR --tokenizer FILE} writes the demo model's shape around a {@code tokenizer.json} (e.g. the 151k
 * tokenizer of {@code fixtures/tokenizers/qwen3-151k.zip}, unzipped) with random weights.
 */
public final class StructuredThroughput {

    static final String DEFAULT_SCHEMA = "{\"type\":\"object\",\"properties\":{\"title\":{\"type\":\"string\"},"
            + "\"year\":{\"type\":\"integer\"},\"notes\":{\"type\":\"string\"}},\"required\":[\"title\",\"year\",\"notes\"],"
            + "\"additionalProperties\":false}";

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: StructuredThroughput MODEL_DIR|--demo [--schema FILE] [--concurrency 1,32] "
                    + "[--max-tokens 64] [--prompt-tokens 16] [--rounds 3]");
            System.exit(2);
        }
        Path dir = args[0].equals("--demo") ? DemoModel.ensure(DemoModel.defaultDir()) : Path.of(args[0]);
        String schema = DEFAULT_SCHEMA;
        int[] concurrency = {1, 32};
        int maxTokens = 64;
        int promptTokens = 16;
        int rounds = 3;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--schema" -> schema = Files.readString(Path.of(args[i + 1]));
                case "--concurrency" -> concurrency = Arrays.stream(args[i + 1].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[i + 1]);
                case "--prompt-tokens" -> promptTokens = Integer.parseInt(args[i + 1]);
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        OutputConstraint constraint = OutputConstraint.of(OutputConstraint.Kind.JSON_SCHEMA, schema);
        int maxConcurrency = Arrays.stream(concurrency).max().orElse(1);
        int blocks = maxConcurrency * ((promptTokens + maxTokens + 15) / 16) + 16;
        try (GlmTokenizer tokenizer = GlmTokenizer.load(dir); DjlBackend backend = DjlBackend.load(dir);
             StructuredOutput structured = StructuredOutput.forModel(dir, tokenizer, backend.config().eosTokenIds(),
                     backend.config().vocabSize())) {
            int mt = maxTokens;
            EngineOptions options = EngineOptions.create(o -> {
                o.numKvBlocks = blocks;
                o.maxNumSeqs = maxConcurrency;
                o.prefixCaching = false;
            });
            try (Engine engine = new Engine(backend, options, tokenizer, structured)) {
                System.out.printf("model %s: %s, vocabulary %d, prompt %d tokens, %d output tokens per request%n", dir,
                        backend.description(), backend.config().vocabSize(), promptTokens, mt);
                System.err.println("warming up ...");
                run(engine, maxConcurrency, promptTokens, mt, null);
                run(engine, maxConcurrency, promptTokens, mt, constraint);
                run(engine, 1, promptTokens, mt, constraint);
                System.out.println("concurrency  free tok/s  schema tok/s  schema/free (median of pairs)  free tok/CPU s"
                        + "  schema tok/CPU s  rounds  load average");
                for (int c : concurrency) {
                    double[] free = new double[rounds];
                    double[] constrained = new double[rounds];
                    double[] ratios = new double[rounds];
                    double[] freeCpu = new double[rounds];
                    double[] constrainedCpu = new double[rounds];
                    for (int r = 0; r < rounds; r++) {   // in pairs, so that both see the same machine
                        double[] a = run(engine, c, promptTokens, mt, null);
                        double[] b = run(engine, c, promptTokens, mt, constraint);
                        free[r] = a[0];
                        freeCpu[r] = a[1];
                        constrained[r] = b[0];
                        constrainedCpu[r] = b[1];
                        ratios[r] = b[0] / a[0];
                        System.err.printf("  c=%d pair %d: free %.1f, schema %.1f tok/s (x%.3f)%n", c, r, a[0], b[0], ratios[r]);
                    }
                    System.out.printf("%11d  %10.1f  %12.1f  %29.3f  %14.1f  %16.1f  %6d  %s%n", c, median(free),
                            median(constrained), median(ratios), median(freeCpu), median(constrainedCpu), rounds,
                            LoadAverage.now());
                }
            }
        }
    }

    /** Generated tokens per second and per CPU second of the process, of {@code concurrency} closed-loop clients. */
    static double[] run(Engine engine, int concurrency, int promptTokens, int maxTokens, OutputConstraint constraint)
            throws Exception {
        int perClient = Math.max(1, 4 / concurrency);
        AtomicInteger generated = new AtomicInteger();
        AtomicInteger ids = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(concurrency * perClient);
        List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        SplittableRandom random = new SplittableRandom(concurrency);
        long start = System.nanoTime();
        long cpuStart = processCpuNanos();
        for (int c = 0; c < concurrency; c++) {
            new Client(engine, random.split(), promptTokens, maxTokens, perClient, constraint, ids, generated, errors,
                    done).next();
        }
        if (!done.await(1, TimeUnit.HOURS)) throw new IllegalStateException("benchmark did not finish");
        if (!errors.isEmpty()) throw new IllegalStateException("requests failed: " + errors.get(0));
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpuSeconds = (processCpuNanos() - cpuStart) / 1e9;
        return new double[] {generated.get() / seconds, generated.get() / cpuSeconds};
    }

    private static long processCpuNanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os ? os.getProcessCpuTime() : 0;
    }

    private static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Sends its next request when the previous one finishes. */
    private static final class Client implements GenerationListener {
        private final Engine engine;
        private final SplittableRandom random;
        private final int promptTokens;
        private final int maxTokens;
        private final OutputConstraint constraint;
        private final AtomicInteger ids;
        private final AtomicInteger generated;
        private final List<String> errors;
        private final CountDownLatch done;
        private int remaining;

        Client(Engine engine, SplittableRandom random, int promptTokens, int maxTokens, int requests,
               OutputConstraint constraint, AtomicInteger ids, AtomicInteger generated, List<String> errors,
               CountDownLatch done) {
            this.engine = engine;
            this.random = random;
            this.promptTokens = promptTokens;
            this.maxTokens = maxTokens;
            this.remaining = requests;
            this.constraint = constraint;
            this.ids = ids;
            this.generated = generated;
            this.errors = errors;
            this.done = done;
        }

        void next() throws RequestRejectedException {
            if (remaining-- == 0) return;
            int[] prompt = random.ints(promptTokens, 0, Math.min(engine.vocabSize(), 30_000)).toArray();
            // Free runs ignore end-of-sequence to generate maxTokens; constrained runs sample (seeded), and the schema's
            // free string keeps them going to the same limit.
            SamplingParams params = new SamplingParams(1.0, 1, 0, 0, 1, 0, 0, random.nextLong(), maxTokens, List.of(),
                    constraint == null, -1);
            GenerationRequest request = GenerationRequest.of("bench-" + ids.incrementAndGet(), prompt, params);
            engine.submit(constraint == null ? request : request.withConstraint(constraint), this);
        }

        @Override
        public void onDelta(TokenDelta delta) {
            generated.addAndGet(delta.tokenIds().length);
        }

        @Override
        public void onFinish(Completion completion) {
            if (completion.error() != null) errors.add(completion.error());
            done.countDown();
            try {
                next();
            } catch (RequestRejectedException e) {
                errors.add(e.getMessage());
                done.countDown();
            }
        }
    }
}
