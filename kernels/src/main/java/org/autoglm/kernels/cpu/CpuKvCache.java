package org.autoglm.kernels.cpu;

/**
 * The paged KV pool in fp32 on the Java heap: per layer, one array of keys and one of values, each
 * {@code [numBlocks * blockSize slots, numKvHeads * headDim]}. Position p of a sequence lives in slot
 * {@code blockTable[p / blockSize] * blockSize + p % blockSize}.
 */
final class CpuKvCache {

    final int numBlocks;
    final int blockSize;
    final int kvDim;
    final float[][] keys;
    final float[][] values;

    CpuKvCache(int layers, int numBlocks, int blockSize, int kvDim) {
        long elements = (long) numBlocks * blockSize * kvDim;
        if (elements > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(numBlocks + " KV blocks of " + blockSize + " tokens need "
                    + elements + " floats per layer, more than a Java array holds: lower --num-kv-blocks");
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvDim = kvDim;
        keys = new float[layers][(int) elements];
        values = new float[layers][(int) elements];
    }

    /** Bytes of one block over all layers (keys and values). */
    static long bytesPerBlock(int layers, int blockSize, int kvDim) {
        return 2L * layers * blockSize * kvDim * Float.BYTES;
    }

    /** The slot of position {@code position} in a sequence with {@code blockTable}. */
    int slot(int[] blockTable, int position) {
        return blockTable[position / blockSize] * blockSize + position % blockSize;
    }

    void copyBlock(int from, int to) {
        int length = blockSize * kvDim;
        for (int layer = 0; layer < keys.length; layer++) {
            System.arraycopy(keys[layer], from * length, keys[layer], to * length, length);
            System.arraycopy(values[layer], from * length, values[layer], to * length, length);
        }
    }
}
