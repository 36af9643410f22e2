package org.autoglm.kernels.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that run one parallel loop at a time: {@link #forEach} splits {@code [0, items)} into chunks,
 * and gives each thread a contiguous region of them that it claims front to back; a thread done with its own region
 * claims from the others', so a thread slowed down by another process on its core simply takes fewer chunks. Regions
 * rather than one shared counter: a thread's consecutive chunks are then adjacent rows, one stream the hardware
 * prefetcher follows, where interleaved chunks restarted it every chunk (bf16 rows, two threads: 30-38 GB/s
 * interleaved, 38-43 in regions; 2026-12-07). Workers spin briefly between loops (a decode step runs a few hundred of
 * them), then park. Each thread has its own {@link Scratch}.
 */
final class WorkerPool implements AutoCloseable {

    /** The body of a loop: items {@code [from, to)} on the thread owning {@code scratch}. */
    interface Body {
        void run(int from, int to, Scratch scratch);
    }

    /** Spins before parking between loops (on the order of 100 µs). */
    private static final int SPIN = 5_000;

    /** Ints between two threads' cursors, so that each sits in a cache line of its own. */
    private static final int PAD = 16;

    private final Thread[] workers;
    private final Scratch[] scratch;
    /** {@code cursors[PAD * r]}: the next chunk of region r (thread r's). */
    private final AtomicIntegerArray cursors;
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
        cursors = new AtomicIntegerArray(threads * PAD);
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
        int chunks = (items + grain - 1) / grain;
        for (int r = 0; r < scratch.length; r++) {
            cursors.set(PAD * r, regionStart(r, chunks));
        }
        running.set(workers.length);
        generation++;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        claim(0);
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

    /** Thread {@code index} runs the chunks of its own region, then whatever is left of the others'. */
    private void claim(int index) {
        Body b = body;
        int n = items;
        int g = grain;
        int c = (n + g - 1) / g;
        int threads = scratch.length;
        Scratch own = scratch[index];
        try {
            for (int k = 0; k < threads; k++) {
                int r = (index + k) % threads;
                int end = regionStart(r + 1, c);
                for (int chunk = cursors.getAndIncrement(PAD * r); chunk < end;
                        chunk = cursors.getAndIncrement(PAD * r)) {
                    b.run(chunk * g, Math.min(n, chunk * g + g), own);
                }
            }
        } catch (Throwable t) {
            if (failure == null) failure = t;
            for (int r = 0; r < threads; r++) {
                cursors.set(PAD * r, c); // the others stop claiming
            }
        }
    }

    /** The first chunk of region {@code r}; region {@code threads} starts at {@code chunks}, the end. */
    private int regionStart(int r, int chunks) {
        return (int) ((long) r * chunks / scratch.length);
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
            claim(index);
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
