package org.autoglm.kernels.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that run one parallel loop at a time: {@link #forEach} splits {@code [0, items)} into chunks
 * that the caller and the workers claim from a shared counter, so a thread slowed down by another process on its core
 * simply takes fewer chunks. Workers spin briefly between loops (a decode step runs a few hundred of them), then park.
 * Each thread has its own {@link Scratch}.
 */
final class WorkerPool implements AutoCloseable {

    /** The body of a loop: items {@code [from, to)} on the thread owning {@code scratch}. */
    interface Body {
        void run(int from, int to, Scratch scratch);
    }

    /** Spins before parking between loops (on the order of 100 µs). */
    private static final int SPIN = 5_000;

    private final Thread[] workers;
    private final Scratch[] scratch;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private volatile long generation;
    private volatile boolean closed;
    private volatile Body body;
    private volatile int items;
    private volatile int grain;
    private volatile Throwable failure;

    WorkerPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, not " + threads);
        scratch = new Scratch[threads];
        for (int i = 0; i < threads; i++) {
            scratch[i] = new Scratch();
        }
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int index = i + 1;
            workers[i] = new Thread(() -> work(index), "autoglm-cpu-" + index);
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    int threads() {
        return scratch.length;
    }

    /** The caller's scratch (for work done outside loops). */
    Scratch callerScratch() {
        return scratch[0];
    }

    /**
     * Runs {@code body} over {@code [0, items)} in chunks of {@code grain} items, on every thread; returns when all
     * are done, rethrowing the first failure. Small loops ({@code items <= grain}) run on the caller alone.
     */
    void forEach(int items, int grain, Body body) {
        if (items <= 0) return;
        grain = Math.max(1, grain);
        if (workers.length == 0 || items <= grain) {
            body.run(0, items, scratch[0]);
            return;
        }
        this.body = body;
        this.items = items;
        this.grain = grain;
        this.failure = null;
        next.set(0);
        running.set(workers.length);
        generation++;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        claim(scratch[0]);
        int spins = 0;
        while (running.get() > 0) {
            if (++spins > SPIN) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
        this.body = null;
        Throwable t = failure;
        if (t != null) {
            if (t instanceof RuntimeException re) throw re;
            if (t instanceof Error e) throw e;
            throw new IllegalStateException(t);
        }
    }

    private void claim(Scratch own) {
        Body b = body;
        int n = items;
        int g = grain;
        try {
            for (int from = next.getAndAdd(g); from < n; from = next.getAndAdd(g)) {
                b.run(from, Math.min(n, from + g), own);
            }
        } catch (Throwable t) {
            if (failure == null) failure = t;
            next.set(n); // the others stop claiming
        }
    }

    private void work(int index) {
        long seen = 0;
        while (!closed) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins > SPIN) {
                    LockSupport.park(this);
                } else {
                    Thread.onSpinWait();
                }
            }
            if (closed) return;
            seen = generation;
            claim(scratch[index]);
            running.decrementAndGet();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
