package org.autoglm.bench;

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
import org.autoglm.node.cli.DemoModel;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.Engine;
import org.autoglm.node.engine.EngineOptions;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TextStream;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.engine.runner.SamplerFactory;

/**
 * Aggregate generation throughput of the engine on the CPU (DJL) backend at several concurrencies: each of
 * {@code c} clients sends requests one after another (closed loop) with random prompts and a fixed number
 * of output tokens (ignore_eos). Prints generated tokens/s, time to first token and inter-token latency
 * (p50/p99) per concurrency. Not a test: figures go to the README.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.EngineThroughput MODEL_DIR|--demo
 *      [--concurrency 1,4,16,64] [--prompt-tokens 32] [--max-tokens 32] [--requests-per-client 2]
 *      [--min-requests 8]
 * </pre>
 * Besides wall-clock tokens/s it prints generated tokens per CPU second of the process and the load average, so
 * that figures taken on a shared machine can be read.
 * {@code --demo} runs the node's built-in demo model (written on first use, as {@code serve} does).
 * A glm-edge-1.5b-shaped random checkpoint: {@code org.autoglm.models.djl.DecodeBenchmark --write-glm-edge-1.5b DIR}.
 */
public final class EngineThroughput {

    /** Results at one concurrency. Latencies in milliseconds. */
    record Level(int concurrency, int requests, long generated, double seconds, double cpuSeconds, double ttftP50,
                 double ttftP99, double itlP50, double itlP99) {
        double tokensPerSecond() {
            return generated / seconds;
        }

        /** Generated tokens per CPU second of the whole process: what a shared, loaded machine distorts least. */
        double tokensPerCpuSecond() {
            return generated / cpuSeconds;
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || (args[0].startsWith("-") && !args[0].equals("--demo"))) {
            System.err.println("usage: EngineThroughput MODEL_DIR|--demo [--concurrency 1,4,16,64] [--prompt-tokens 32] "
                    + "[--max-tokens 32] [--requests-per-client 2] [--min-requests 8]");
            System.exit(2);
        }
        Path modelDir = args[0].equals("--demo") ? DemoModel.ensure(DemoModel.defaultDir()) : Path.of(args[0]);
        int[] concurrency = {1, 4, 16, 64};
        int promptTokens = 32;
        int maxTokens = 32;
        int perClient = 2;
        int minRequests = 8;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--concurrency" -> concurrency = Arrays.stream(args[i + 1].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--prompt-tokens" -> promptTokens = Integer.parseInt(args[i + 1]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[i + 1]);
                case "--requests-per-client" -> perClient = Integer.parseInt(args[i + 1]);
                case "--min-requests" -> minRequests = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        int maxConcurrency = Arrays.stream(concurrency).max().orElse(1);
        int blocksPerSequence = (promptTokens + maxTokens + 15) / 16;
        int p = promptTokens;
        int m = maxTokens;
        try (DjlBackend backend = DjlBackend.load(modelDir)) {
            EngineOptions options = EngineOptions.create(o -> {
                o.numKvBlocks = maxConcurrency * blocksPerSequence + 16;
                o.maxNumSeqs = maxConcurrency;
                o.prefixCaching = false; // random prompts share nothing; keep the figures about batching
            });
            Engine engine = new Engine(backend, options, TextStream.Factory.NONE, SamplerFactory.DEFAULT);
            System.out.printf("model %s: %s, prompt %d tokens, %d output tokens per request%n",
                    modelDir, backend.description(), p, m);
            run(engine, 1, p, m, 1); // warm-up
            System.out.println("concurrency  requests  generated tok/s  tok per CPU s  TTFT p50/p99 ms  ITL p50/p99 ms"
                    + "  load average");
            Level single = null;
            for (int c : concurrency) {
                // At least minRequests per level, so that low concurrencies are not measured on one or two requests.
                Level level = run(engine, c, p, m, Math.max(perClient, (minRequests + c - 1) / c));
                if (c == 1) single = level;
                System.out.printf("%11d  %8d  %15.1f  %13.1f  %7.0f / %-7.0f  %6.1f / %-6.1f  %s%s%n", c, level.requests(),
                        level.tokensPerSecond(), level.tokensPerCpuSecond(), level.ttftP50(), level.ttftP99(),
                        level.itlP50(), level.itlP99(), LoadAverage.now(), single != null && c > 1
                                ? String.format("  (%.1fx single stream; %.1fx per CPU s)",
                                level.tokensPerSecond() / single.tokensPerSecond(),
                                level.tokensPerCpuSecond() / single.tokensPerCpuSecond()) : "");
            }
            engine.close();
        }
    }

    static Level run(Engine engine, int concurrency, int promptTokens, int maxTokens, int perClient) throws Exception {
        SplittableRandom random = new SplittableRandom(concurrency);
        List<Long> ttft = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Long> itl = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger ids = new AtomicInteger();
        AtomicInteger generated = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(concurrency * perClient);
        long start = System.nanoTime();
        long cpuStart = processCpuNanos();
        for (int c = 0; c < concurrency; c++) {
            new Client(engine, random.split(), promptTokens, maxTokens, perClient, ids, generated, ttft, itl, done).next();
        }
        if (!done.await(1, TimeUnit.HOURS)) throw new IllegalStateException("benchmark did not finish");
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpuSeconds = (processCpuNanos() - cpuStart) / 1e9;
        return new Level(concurrency, concurrency * perClient, generated.get(), seconds, cpuSeconds,
                percentile(ttft, 0.5), percentile(ttft, 0.99), percentile(itl, 0.5), percentile(itl, 0.99));
    }

    private static long processCpuNanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os ? os.getProcessCpuTime() : 0;
    }

    private static double percentile(List<Long> nanos, double q) {
        if (nanos.isEmpty()) return 0;
        long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        return sorted[Math.min(sorted.length - 1, (int) Math.floor(q * sorted.length))] / 1e6;
    }

    /** One closed-loop client: sends its next request when the previous one finishes. */
    private static final class Client implements GenerationListener {
        private final Engine engine;
        private final SplittableRandom random;
        private final int promptTokens;
        private final int maxTokens;
        private final int vocab;
        private int remaining;
        private final AtomicInteger ids;
        private final AtomicInteger generated;
        private final List<Long> ttft;
        private final List<Long> itl;
        private final CountDownLatch done;
        private long submitted;
        private long last;

        Client(Engine engine, SplittableRandom random, int promptTokens, int maxTokens, int requests, AtomicInteger ids,
               AtomicInteger generated, List<Long> ttft, List<Long> itl, CountDownLatch done) {
            this.engine = engine;
            this.random = random;
            this.promptTokens = promptTokens;
            this.maxTokens = maxTokens;
            this.vocab = engine.vocabSize();
            this.remaining = requests;
            this.ids = ids;
            this.generated = generated;
            this.ttft = ttft;
            this.itl = itl;
            this.done = done;
        }

        void next() throws RequestRejectedException {
            if (remaining-- == 0) return;
            // Any ids of the vocabulary: the text does not matter with ignore_eos.
            int[] prompt = random.ints(promptTokens, 0, vocab).toArray();
            SamplingParams params = new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, maxTokens, List.of(), true, -1);
            submitted = System.nanoTime();
            last = 0;
            engine.submit(GenerationRequest.of("bench-" + ids.incrementAndGet(), prompt, params), this);
        }

        @Override
        public void onDelta(TokenDelta delta) {
            long now = System.nanoTime();
            if (last == 0) ttft.add(now - submitted);
            else itl.add(now - last);
            last = now;
            generated.addAndGet(delta.tokenIds().length);
        }

        @Override
        public void onFinish(Completion completion) {
            done.countDown();
            try {
                next();
            } catch (RequestRejectedException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
