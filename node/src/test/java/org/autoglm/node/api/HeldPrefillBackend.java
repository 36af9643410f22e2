package org.autoglm.node.api;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;

/**
 * A model-free backend for driving the real engine over HTTP: it always predicts token {@link #TOKEN}, and
 * while {@link #holdPrefills} is set it holds each forward that starts a sequence until {@link #release}, so a
 * test knows a request is inside its prefill (and when) whatever the machine's load.
 */
final class HeldPrefillBackend implements Backend {

    static final int VOCAB = 1000;
    static final int TOKEN = 7;

    private final GlmConfig config = new GlmConfig("glm", VOCAB, 8, 16, 1, 1, 1, 8, 0.5, 10000, 1e-5, 512, false,
            false, new int[] {VOCAB - 1}, -1, "float32");
    private volatile CountDownLatch gate = new CountDownLatch(0);
    volatile boolean holdPrefills;
    /** Counted down when a held prefill is waiting; {@link #heldAt} says when it started waiting. */
    volatile CountDownLatch held = new CountDownLatch(1);
    volatile Instant heldAt;

    /** Holds the next prefills (until {@link #release}). */
    void hold() {
        held = new CountDownLatch(1);
        gate = new CountDownLatch(1);
        holdPrefills = true;
    }

    void release() {
        holdPrefills = false;
        gate.countDown();
    }

    @Override
    public float[][] forward(List<SequenceChunk> chunks) {
        if (holdPrefills && chunks.stream().anyMatch(c -> c.startPosition() == 0)) {
            heldAt = Instant.now();
            held.countDown();
            try {
                if (!gate.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("the test never released the prefill");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        float[][] out = new float[chunks.size()][];
        for (int i = 0; i < out.length; i++) {
            if (!chunks.get(i).wantLogits()) continue;
            out[i] = new float[VOCAB];
            out[i][TOKEN] = 1;
        }
        return out;
    }

    @Override
    public GlmConfig config() {
        return config;
    }

    @Override
    public String description() {
        return "held-prefill test backend";
    }

    @Override
    public int maxKvBlocks(int blockSize) {
        return 64;
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {}

    @Override
    public void close() {}
}
