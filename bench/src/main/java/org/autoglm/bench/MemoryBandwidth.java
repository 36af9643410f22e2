package org.autoglm.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.lang.management.ManagementFactory;

/**
 * How fast PyTorch on this CPU streams memory it only reads: the sum of a 1 GiB fp32 array, the same access
 * pattern as a decode step's matrix-vector products over the weights. Per CPU second of the process, so that a
 * loaded machine reads close to an idle one.
 */
final class MemoryBandwidth {

    private static final long FLOATS = 1L << 28; // 1 GiB

    private MemoryBandwidth() {}

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
