package org.autoglm.kernels;

/** Device addresses of the per-row sampling parameters and the sampled ids (see sampling.cu). */
record SamplingBuffers(long seeds, long temperature, long topK, long topP, long steps, long outIds) {

    /** Bytes for {@code rows} rows: seeds (8 bytes) then five 4-byte arrays. */
    static long bytes(int rows) {
        return 8L * rows + 5L * 4 * rows;
    }

    /**
     * The bytes the host uploads per step: every array but the sampled ids, which stay on the device for the next
     * step to feed from (asynchronous scheduling).
     */
    static long paramBytes(int rows) {
        return bytes(rows) - 4L * rows;
    }

    static SamplingBuffers at(long base, int rows) {
        long seeds = base;
        long temperature = seeds + 8L * rows;
        long topK = temperature + 4L * rows;
        long topP = topK + 4L * rows;
        long steps = topP + 4L * rows;
        long outIds = steps + 4L * rows;
        return new SamplingBuffers(seeds, temperature, topK, topP, steps, outIds);
    }
}
