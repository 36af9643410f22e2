package org.autoglm.node.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.PendingStep;
import org.autoglm.models.backend.SampledStep;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.sampling.SamplingParams;

/**
 * A GPU's asynchronous contract around any backend, for engine tests: steps run in submission order on one thread
 * (the "stream"), greedy rows are drawn there (argmax, as the device sampler does at temperature 0), and a chunk's
 * {@link SequenceChunk#PREVIOUS_SAMPLE} is replaced there by the id the step before drew for that sequence, never
 * by the host. A placeholder for a sequence the step before did not draw makes the step throw, so an engine that
 * feeds the wrong step shows up as failed requests. {@link #stepDelayMillis} stands for device time.
 */
final class DeviceStreamBackend extends ForwardingBackend {

    private final ExecutorService stream = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "device-stream");
        t.setDaemon(true);
        return t;
    });
    /** Written and read on the stream thread only: what the last step drew, by sequence. */
    private Map<Long, Integer> lastDrawn = new HashMap<>();
    private final AtomicInteger queued = new AtomicInteger();
    /** The most steps ever queued at once: 2 or more means the host submitted a step before the last one ended. */
    final AtomicInteger maxQueued = new AtomicInteger();
    /** Placeholders fed on the stream. */
    final AtomicInteger fedIds = new AtomicInteger();
    volatile long stepDelayMillis;

    DeviceStreamBackend(Backend inner) {
        super(inner);
    }

    @Override
    public boolean canSample(SamplingParams p) {
        return p.temperature() == 0 && p.logprobs() < 0 && p.repetitionPenalty() == 1 && p.presencePenalty() == 0
                && p.frequencyPenalty() == 0 && p.logitBias().isEmpty();
    }

    @Override
    public boolean feedsSampledIds() {
        return true;
    }

    @Override
    public PendingStep submit(List<SequenceChunk> chunks, List<SamplingParams> params) {
        List<SequenceChunk> copy = List.copyOf(chunks);
        List<SamplingParams> copyParams = new ArrayList<>(params);
        maxQueued.accumulateAndGet(queued.incrementAndGet(), Math::max);
        Future<SampledStep> f = stream.submit(() -> {
            try {
                return run(copy, copyParams);
            } finally {
                queued.decrementAndGet();
            }
        });
        return () -> {
            try {
                return f.get();
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        };
    }

    @Override
    public SampledStep forwardAndSample(List<SequenceChunk> chunks, List<SamplingParams> params) {
        return submit(chunks, params).await();
    }

    @Override
    public float[][] forward(List<SequenceChunk> chunks) {
        return submit(chunks, java.util.Collections.nCopies(chunks.size(), null)).await().logits();
    }

    /** One step on the stream thread. */
    private SampledStep run(List<SequenceChunk> chunks, List<SamplingParams> params) throws InterruptedException {
        Map<Long, Integer> before = lastDrawn;
        lastDrawn = new HashMap<>(); // whatever happens, the next step may feed only from this one
        List<SequenceChunk> fed = new ArrayList<>(chunks.size());
        for (SequenceChunk c : chunks) {
            int[] tokens = c.tokens().clone();
            for (int t = 0; t < tokens.length; t++) {
                if (tokens[t] != SequenceChunk.PREVIOUS_SAMPLE) continue;
                Integer id = before.get(c.sequenceId());
                if (id == null) {
                    throw new IllegalStateException("sequence " + c.sequenceId() + " asks for a draw the step before did not make");
                }
                tokens[t] = id;
                fedIds.incrementAndGet();
            }
            fed.add(new SequenceChunk(c.sequenceId(), tokens, c.startPosition(), c.blockTable(), c.wantLogits()));
        }
        if (stepDelayMillis > 0) Thread.sleep(stepDelayMillis); // stands in for device time
        float[][] logits = inner.forward(fed);
        int[] ids = new int[chunks.size()];
        Arrays.fill(ids, -1);
        Map<Long, Integer> drawn = new HashMap<>();
        for (int i = 0; i < chunks.size(); i++) {
            if (params.get(i) == null || logits[i] == null) continue;
            int best = 0;
            for (int v = 1; v < logits[i].length; v++) if (logits[i][v] > logits[i][best]) best = v;
            ids[i] = best;
            logits[i] = null;
            drawn.put(chunks.get(i).sequenceId(), best);
        }
        lastDrawn = drawn;
        return new SampledStep(ids, logits);
    }

    @Override
    public String description() {
        return "device-stream(" + inner.description() + ")";
    }

    @Override
    public void close() {
        stream.shutdownNow();
        inner.close();
    }
}
