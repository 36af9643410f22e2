package org.autoglm.node.engine;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;

/**
 * A backend without a model whose "KV cache" stores the token ids themselves in the paged blocks, and
 * whose next token is a hash of everything it reads back from a sequence's blocks. Wrong block tables,
 * a prefix hit on the wrong block or a bad recompute after preemption all change the output, so it tests
 * the engine's paging for real; unlike a model it is fast and exact.
 *
 * <p>Token {@link #POISON} makes the forward of any batch containing it throw (a request that breaks the
 * model). {@link #gate} can hold the engine thread inside a forward.
 */
public final class PagedTokenBackend implements Backend {

    static final int VOCAB = 97;
    static final int EOS = 96;
    static final int POISON = 95;

    private final GlmConfig config;
    private final int maxBlocks;
    private int[][] kv;
    private int blockSize;
    volatile CountDownLatch gate;
    final CountDownLatch enteredForward = new CountDownLatch(1);
    /** Each forward takes this long more: a slow device, a throttled CPU. */
    public volatile long forwardDelayMillis;
    volatile int forwardCalls;

    public PagedTokenBackend(int maxBlocks, int contextLength) {
        this.maxBlocks = maxBlocks;
        this.config = new GlmConfig("glm", VOCAB, 8, 16, 1, 1, 1, 8, 0.5, 10000, 1e-5, contextLength, false, false,
                new int[] {EOS}, -1, "float32");
    }

    /** The token this backend generates after {@code context}: what any correct engine must reproduce. */
    static int next(int[] context, int length) {
        long h = 17;
        for (int i = 0; i < length; i++) h = h * 31 + context[i] + i;
        int t = (int) Math.floorMod(h ^ (h >>> 17), (long) POISON); // never EOS or POISON by itself
        return t;
    }

    @Override
    public GlmConfig config() {
        return config;
    }

    @Override
    public String description() {
        return "paged-token test backend";
    }

    @Override
    public int maxKvBlocks(int blockSize) {
        return maxBlocks;
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        this.kv = new int[numBlocks][blockSize];
        this.blockSize = blockSize;
    }

    @Override
    public float[][] forward(List<SequenceChunk> chunks) {
        forwardCalls++;
        enteredForward.countDown();
        CountDownLatch g = gate;
        if (g != null) {
            try {
                g.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (forwardDelayMillis > 0) {
            try {
                Thread.sleep(forwardDelayMillis); // stands in for compute time, not for synchronisation
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (SequenceChunk c : chunks) {
            for (int t : c.tokens()) if (t == POISON) throw new IllegalStateException("poisoned token in sequence " + c.sequenceId());
        }
        float[][] out = new float[chunks.size()][];
        for (int i = 0; i < chunks.size(); i++) {
            SequenceChunk c = chunks.get(i);
            for (int j = 0; j < c.tokens().length; j++) {
                int p = c.startPosition() + j;
                kv[c.blockTable()[p / blockSize]][p % blockSize] = c.tokens()[j];
            }
            if (!c.wantLogits()) continue;
            int[] context = new int[c.endPosition()];
            for (int p = 0; p < context.length; p++) context[p] = kv[c.blockTable()[p / blockSize]][p % blockSize];
            float[] logits = new float[VOCAB];
            logits[next(context, context.length)] = 1;
            out[i] = logits;
        }
        return out;
    }

    @Override
    public void close() {}
}
