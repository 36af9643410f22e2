package org.autoglm.node.engine;

import java.util.List;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;

/** A test backend that wraps another: everything goes to {@link #inner} unless a subclass changes it. */
abstract class ForwardingBackend implements Backend {

    protected final Backend inner;

    ForwardingBackend(Backend inner) {
        this.inner = inner;
    }

    @Override
    public float[][] forward(List<SequenceChunk> chunks) {
        return inner.forward(chunks);
    }

    @Override
    public GlmConfig config() {
        return inner.config();
    }

    @Override
    public String description() {
        return inner.description();
    }

    @Override
    public int maxKvBlocks(int blockSize) {
        return inner.maxKvBlocks(blockSize);
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        inner.allocateKvCache(numBlocks, blockSize);
    }

    @Override
    public void close() {
        inner.close();
    }
}
