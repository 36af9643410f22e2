package org.autoglm.node.engine;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SequenceChunk;

/**
 * Wraps a backend and holds the engine thread in its first forward until {@link #open()}: a test can then
 * queue several requests and know they all join the second step, whatever the machine's load.
 */
final class GatedBackend extends ForwardingBackend {

    private final CountDownLatch gate = new CountDownLatch(1);
    final CountDownLatch entered = new CountDownLatch(1);

    GatedBackend(Backend inner) {
        super(inner);
    }

    void open() {
        gate.countDown();
    }

    @Override
    public float[][] forward(List<SequenceChunk> chunks) {
        entered.countDown();
        try {
            if (!gate.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("gate never opened");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return inner.forward(chunks);
    }
}
