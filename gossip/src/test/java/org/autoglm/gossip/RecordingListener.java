package org.autoglm.gossip;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.autoglm.gossip.dispatch.StreamListener;

/** Collects what a client would see of one request. */
final class RecordingListener implements StreamListener {

    final List<Integer> tokens = new CopyOnWriteArrayList<>();
    final AtomicInteger ends = new AtomicInteger();
    volatile String finishedBy;
    volatile String error;

    @Override
    public void onTokens(int[] ids, byte[] payload) {
        for (int id : ids) {
            tokens.add(id);
        }
    }

    @Override
    public void onFinish(byte[] payload) {
        finishedBy = new String(payload, StandardCharsets.UTF_8);
        ends.incrementAndGet();
    }

    @Override
    public void onError(String message) {
        error = message;
        ends.incrementAndGet();
    }

    boolean ended() {
        return ends.get() > 0;
    }
}
