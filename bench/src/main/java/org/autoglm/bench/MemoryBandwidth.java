package org.autoglm.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.autoglm.kernels.cpu.VectorLoads;

/**
 * How fast this CPU streams memory a program only reads (the access pattern of a decode step's matrix-vector products
 * over the weights): the sum of 1 GiB of floats, by PyTorch or by Java threads on the Vector API.
 */
final class MemoryBandwidth {

    private static final long FLOATS = 1L << 28; // 1 GiB
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Bytes one call of {@link #sum} reads. */
    private static final int CHUNK = 1 << 20;

    private MemoryBandwidth() {}

    /**
     * GB/s (wall) that {@code threads} Java threads read from direct buffers with the Vector API, as the CPU backend
     * reads its mapped weights; the best of 7 rounds. Each thread sums 1 MB at a time in a method compiled on its own:
     * one long loop inside a thread's {@code run} was compiled on-stack-replacement and read 9-12 GB/s where this reads
     * 40-45 on the same two cores (2026-12-07).
     */
    static double javaReadGbPerSecond(int threads) throws InterruptedException {
        ByteBuffer[] parts = new ByteBuffer[2];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = ByteBuffer.allocateDirect((int) (FLOATS * 4 / parts.length)).order(ByteOrder.LITTLE_ENDIAN);
            for (int b = 0; b < parts[i].capacity(); b += 64) parts[i].putFloat(b, 1f); // every line, so every page
        }
        float[] sink = new float[threads];
        for (int i = 0; i < 2_000; i++) sink[0] += sum(parts[0], 0, 1 << 16); // compiled before the first round
        double best = 0;
        for (int round = 0; round < 7; round++) {
            Thread[] workers = new Thread[threads];
            long start = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                int id = t;
                workers[t] = new Thread(() -> {
                    for (ByteBuffer part : parts) {
                        int share = part.capacity() / threads;
                        for (int from = share * id; from < share * (id + 1); from += CHUNK) {
                            sink[id] += sum(part, from, Math.min(from + CHUNK, share * (id + 1)));
                        }
                    }
                });
                workers[t].start();
            }
            for (Thread w : workers) w.join();
            best = Math.max(best, FLOATS * 4 / ((System.nanoTime() - start) / 1e9) / 1e9);
        }
        return best;
    }

    private static float sum(ByteBuffer data, int from, int to) {
        FloatVector a = FloatVector.zero(F);
        FloatVector b = a;
        FloatVector c = a;
        FloatVector d = a;
        int step = F.vectorByteSize();
        for (int i = from; i + 4 * step <= to; i += 4 * step) { // the kernels' loads: byte buffers or segments by JDK
            a = a.add(VectorLoads.floats(F, data, i));
            b = b.add(VectorLoads.floats(F, data, i + step));
            c = c.add(VectorLoads.floats(F, data, i + 2 * step));
            d = d.add(VectorLoads.floats(F, data, i + 3 * step));
        }
        return a.add(b).add(c.add(d)).reduceLanes(VectorOperators.ADD);
    }

    /**
     * GB per CPU second of the process that PyTorch reads summing 1 GiB of floats (per CPU second, so that a loaded
     * machine reads close to an idle one).
     */
    static double torchReadGbPerCpuSecond(int threads) {
        if (threads > 0) JniUtils.setNumThreads(threads);
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray data = manager.ones(new Shape(FLOATS));
            data.sum().getFloat(); // touch every page before timing
            int rounds = 5;
            long cpuStart = processCpuNanos();
            for (int i = 0; i < rounds; i++) {
                data.sum().getFloat();
            }
            return rounds * FLOATS * 4 / ((processCpuNanos() - cpuStart) / 1e9) / 1e9;
        }
    }

    private static long processCpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : 0;
    }
}
