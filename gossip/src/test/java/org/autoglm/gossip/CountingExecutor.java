package org.autoglm.gossip;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.autoglm.gossip.dispatch.NodeBusyException;
import org.autoglm.gossip.dispatch.RequestExecutor;
import org.autoglm.gossip.queue.QueuedRequest;

/**
 * A stand-in engine for grid tests (the gossip module cannot see the real one): generates token {@code i + 1} at
 * position {@code i}, one every {@code stepMillis}, continuing after the resume tokens like the real engine must,
 * so a test can check that a restarted stream is exactly 1..max with nothing lost or repeated.
 */
final class CountingExecutor implements RequestExecutor {

    final String node;
    final long stepMillis;
    final AtomicInteger started = new AtomicInteger();
    volatile boolean refuse;
    /** Full: refuses work as a busy engine does (not the request's fault). */
    volatile boolean busy;
    final AtomicInteger busyRefusals = new AtomicInteger();
    private final Map<String, ScheduledFuture<?>> running = new ConcurrentHashMap<>();
    private final ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "counting-executor");
        t.setDaemon(true);
        return t;
    });

    CountingExecutor(String node, long stepMillis) {
        this.node = node;
        this.stepMillis = stepMillis;
    }

    @Override
    public void start(QueuedRequest request, ExecutionSink sink) throws NodeBusyException {
        if (busy) {
            busyRefusals.incrementAndGet();
            throw new NodeBusyException(node + " is full", null);
        }
        if (refuse) {
            throw new IllegalStateException(node + " refuses work");
        }
        started.incrementAndGet();
        AtomicInteger position = new AtomicInteger(request.resumeIds().length);
        running.put(request.id(), clock.scheduleWithFixedDelay(() -> {
            int p = position.getAndIncrement();
            if (p >= request.maxTokens()) {
                running.remove(request.id()).cancel(false);
                sink.finish(node.getBytes(StandardCharsets.UTF_8));
                return;
            }
            sink.tokens(new int[] {p + 1}, Integer.toString(p + 1).getBytes(StandardCharsets.UTF_8));
        }, 0, stepMillis, TimeUnit.MILLISECONDS));
    }

    @Override
    public void cancel(String requestId) {
        ScheduledFuture<?> task = running.remove(requestId);
        if (task != null) {
            task.cancel(false);
        }
    }

    /** The node died: its work stops without a word. */
    void crash() {
        running.values().forEach(task -> task.cancel(false));
        clock.shutdownNow();
    }
}
