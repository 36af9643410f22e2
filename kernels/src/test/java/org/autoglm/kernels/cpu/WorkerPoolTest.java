package org.autoglm.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The pool's loops: every item runs exactly once, in chunks of the grain; each thread starts on a contiguous region of
 * its own; a thread stuck in its region leaves the rest of it to the others; a failure reaches the caller.
 */
class WorkerPoolTest {

    @Test
    void everyItemRunsExactlyOnceInChunksOfTheGrain() {
        try (WorkerPool pool = new WorkerPool(3)) {
            for (int items : new int[] {1, 2, 7, 64, 1000, 4099}) {
                for (int grain : new int[] {1, 4, 13, 64}) {
                    AtomicIntegerArray runs = new AtomicIntegerArray(items);
                    List<int[]> chunks = Collections.synchronizedList(new ArrayList<>());
                    pool.forEach(items, grain, (from, to, scratch) -> {
                        chunks.add(new int[] {from, to});
                        for (int i = from; i < to; i++) runs.incrementAndGet(i);
                    });
                    for (int i = 0; i < items; i++) {
                        assertThat(runs.get(i)).as("item %d of %d, grain %d", i, items, grain).isEqualTo(1);
                    }
                    for (int[] c : chunks) {
                        assertThat(c[0] % grain).isZero();
                        assertThat(c[1]).isEqualTo(Math.min(items, c[0] + grain));
                    }
                }
            }
        }
    }

    @Test
    void theWorkerBeginsInItsOwnRegion() {
        try (WorkerPool pool = new WorkerPool(2)) {
            for (int round = 0; round < 20; round++) {
                // the caller's region is chunks 0-4, the worker's 5-9; the worker runs its own region first (a late
                // worker may find the caller has taken some or all of it), never the caller's chunk 1 as a shared
                // counter would hand it
                List<Integer> workerChunks = Collections.synchronizedList(new ArrayList<>());
                Thread caller = Thread.currentThread();
                pool.forEach(10, 1, (from, to, scratch) -> {
                    if (Thread.currentThread() != caller) workerChunks.add(from);
                    busy(200_000);
                });
                if (!workerChunks.isEmpty()) {
                    assertThat(workerChunks.get(0)).as("round %d: %s", round, workerChunks).isBetween(5, 9);
                }
            }
        }
    }

    @Test
    void aThreadStuckInItsRegionLeavesTheRestOfItToTheOthers() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            try (WorkerPool pool = new WorkerPool(2)) {
                CountDownLatch workerStarted = new CountDownLatch(1);
                CountDownLatch othersDone = new CountDownLatch(1);
                AtomicIntegerArray runs = new AtomicIntegerArray(100);
                int[] byCaller = {0};
                Thread caller = Thread.currentThread();
                pool.forEach(100, 1, (from, to, scratch) -> {
                    if (Thread.currentThread() != caller) {
                        // the worker holds its first chunk until the caller has run everything else
                        workerStarted.countDown();
                        await(othersDone);
                    } else {
                        if (byCaller[0] == 0) await(workerStarted); // however late the worker wakes
                        byCaller[0]++;
                        if (byCaller[0] == 99) othersDone.countDown();
                    }
                    runs.incrementAndGet(from);
                });
                for (int i = 0; i < 100; i++) {
                    assertThat(runs.get(i)).isEqualTo(1);
                }
                assertThat(byCaller[0]).isEqualTo(99); // its own 50 and 49 of the worker's region
            }
        });
    }

    @Test
    void aFailureInAnyThreadReachesTheCallerAndThePoolRunsOn() {
        try (WorkerPool pool = new WorkerPool(2)) {
            assertThatThrownBy(() -> pool.forEach(1000, 10, (from, to, scratch) -> {
                if (from == 730) throw new IllegalArgumentException("chunk 73");
            })).isInstanceOf(IllegalArgumentException.class).hasMessage("chunk 73");
            AtomicIntegerArray runs = new AtomicIntegerArray(50);
            pool.forEach(50, 5, (from, to, scratch) -> {
                for (int i = from; i < to; i++) runs.incrementAndGet(i);
            });
            for (int i = 0; i < 50; i++) {
                assertThat(runs.get(i)).isEqualTo(1);
            }
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void busy(long nanos) {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    }
}
