package org.autoglm.node.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.runner.SamplerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Asynchronous scheduling on the real engine: {@link DeviceStreamBackend} runs each step on its own thread, draws
 * greedy tokens there and feeds them to the next step itself, so the engine plans step n+1 before it knows step n's
 * tokens. Whatever the engine does around that (stop conditions a step late, preemption, chunked prefill, host-
 * sampled batch-mates, a failing request), each client must receive exactly the deltas the synchronous engine sends.
 */
class AsyncSchedulingTest {

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
    }

    /** Token ids as text, and a stop string that is a token id ends the output at that token. */
    private static final TextStream.Factory IDS_AS_TEXT = params -> new TextStream() {
        private boolean stopped;

        @Override
        public String push(int tokenId) {
            if (params.stop().contains(String.valueOf(tokenId))) stopped = true;
            return stopped ? "" : tokenId + ",";
        }

        @Override
        public boolean stopped() {
            return stopped;
        }

        @Override
        public String flush() {
            return "";
        }
    };

    private Engine engine(Backend backend, Consumer<EngineOptions.Builder> options) {
        Engine e = new Engine(backend, EngineOptions.create(options), IDS_AS_TEXT, SamplerFactory.DEFAULT);
        open.add(e);
        return e;
    }

    private static int[] prompt(int seed, int length) {
        return IntStream.range(0, length).map(i -> (seed * 7 + i * 13) % 90).toArray();
    }

    /**
     * Request i of the mix: prompts of 3-40 tokens, 1-40 output tokens; some may stop at EOS, some at a stop
     * string, some ask for logprobs (sampled on the host, so the engine must wait for their tokens).
     */
    private static GenerationRequest request(int i) {
        int maxTokens = 1 + (i * 11) % 40;
        boolean ignoreEos = i % 3 != 0;
        List<String> stop = i % 4 == 1 ? List.of("7", "21", "33") : List.of();
        int logprobs = i % 7 == 2 ? 2 : -1;
        return GenerationRequest.of("r" + i, prompt(i, 3 + (i * 17) % 38),
                new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, maxTokens, stop, ignoreEos, logprobs));
    }

    /** Every delta each request heard, and how it ended. */
    private static List<String> run(Engine engine, int n) throws Exception {
        List<Collector> outs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Collector c = new Collector();
            outs.add(c);
            engine.submit(request(i), c);
        }
        List<String> heard = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Completion done = outs.get(i).await();
            heard.add("r" + i + " " + Arrays.toString(outs.get(i).ids()) + " text=" + outs.get(i).text + " "
                    + done.reason() + " " + done.completionTokens() + " " + done.error());
        }
        return heard;
    }

    @Test
    void clientsHearTheSameDeltasAsWithSynchronousSteps() throws Exception {
        Consumer<EngineOptions.Builder> tight = o -> {
            o.numKvBlocks = 40;   // 24 sequences of up to 80 tokens in 40 blocks of 4: preemption is certain
            o.blockSize = 4;
            o.maxNumBatchedTokens = 24;   // long prompts are chunked
        };
        List<String> expected = run(engine(new EosOften(new PagedTokenBackend(0, 4096)), tight), 24);

        DeviceStreamBackend device = new DeviceStreamBackend(new EosOften(new PagedTokenBackend(0, 4096)));
        device.stepDelayMillis = 1;
        Engine async = engine(device, tight);
        assertThat(run(async, 24)).containsExactlyElementsOf(expected);
        assertThat(async.stats().preemptions()).as("preemptions").isPositive();
        assertThat(device.fedIds.get()).as("ids fed on the device").isPositive();
        assertThat(device.maxQueued.get()).as("steps queued at once").isGreaterThanOrEqualTo(2);
        assertThat(expected).anyMatch(s -> s.contains(" STOP ")).anyMatch(s -> s.contains(" LENGTH "));
    }

    @Test
    void aFailingRequestFailsAloneWhileStepsRunAhead() throws Exception {
        DeviceStreamBackend device = new DeviceStreamBackend(new PagedTokenBackend(64, 4096));
        device.stepDelayMillis = 1;
        Engine engine = engine(device, o -> {});
        Collector first = new Collector(n -> {
            if (n != 4) return;
            int[] bad = prompt(2, 6);
            bad[3] = PagedTokenBackend.POISON;   // joins while the first one's steps run ahead
            try {
                engine.submit(GenerationRequest.of("bad", bad, SamplingParams.greedy(12)), poisoned);
            } catch (RequestRejectedException e) {
                throw new IllegalStateException(e);
            }
        });
        engine.submit(GenerationRequest.of("ok", prompt(1, 6), new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, 30,
                List.of(), true, -1)), first);

        Completion failed = poisoned.await();
        assertThat(failed.reason()).isEqualTo(FinishReason.ERROR);
        assertThat(failed.error()).contains("model forward failed").contains("poisoned token");
        assertThat(first.await().reason()).isEqualTo(FinishReason.LENGTH);
        int[] all = Arrays.copyOf(prompt(1, 6), 36);
        for (int i = 6; i < 36; i++) all[i] = PagedTokenBackend.next(all, i);
        assertThat(first.ids()).containsExactly(Arrays.copyOfRange(all, 6, 36));
    }

    private final Collector poisoned = new Collector();

    /**
     * Turns some of the inner backend's greedy choices into EOS (a function of the context, like the inner one), so
     * requests that do not ignore EOS stop at different, repeatable points.
     */
    private static final class EosOften extends ForwardingBackend {
        EosOften(Backend inner) {
            super(inner);
        }

        @Override
        public float[][] forward(List<SequenceChunk> chunks) {
            float[][] out = inner.forward(chunks);
            for (float[] row : out) {
                if (row == null) continue;
                int best = 0;
                for (int v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
                if (best % 11 == 5) {
                    row[best] = 0;
                    row[PagedTokenBackend.EOS] = 1;
                }
            }
            return out;
        }

        @Override
        public String description() {
            return "eos-often(" + inner.description() + ")";
        }
    }
}
