package org.autoglm.models.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Keys and values of every layer in fixed-size blocks. Each layer has one K and one V pool of
 * {@code numBlocks * blockSize} slots of {@code [kvHeads, headDim]}; the token at position {@code p} of a
 * sequence lives in slot {@code blockTable[p / blockSize] * blockSize + p % blockSize}. The engine decides
 * which blocks a sequence uses (and shares prefix blocks between sequences); this class only stores and
 * gathers by slot.
 */
final class PagedKvCache implements AutoCloseable {

    private final NDManager manager;
    private final List<NDArray> keys = new ArrayList<>();
    private final List<NDArray> values = new ArrayList<>();
    private final int numBlocks;
    private final int blockSize;

    PagedKvCache(NDManager parent, int numLayers, int numBlocks, int blockSize, int kvHeads, int headDim) {
        this.manager = parent.newSubManager();
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        Shape pool = new Shape((long) numBlocks * blockSize, kvHeads, headDim);
        // Uninitialised (torch.empty): a slot is only ever read after its position was written, and untouched
        // pages cost no memory, so even a pool of a quarter of RAM is allocated instantly.
        for (int i = 0; i < numLayers; i++) {
            keys.add(manager.create(pool, DataType.FLOAT32));
            values.add(manager.create(pool, DataType.FLOAT32));
        }
    }

    /** Bytes one block takes across all layers (K and V). */
    static long bytesPerBlock(int numLayers, int blockSize, int kvHeads, int headDim) {
        return 2L * numLayers * blockSize * kvHeads * headDim * Float.BYTES;
    }

    int numBlocks() {
        return numBlocks;
    }

    int blockSize() {
        return blockSize;
    }

    /** The slot of position {@code p} of a sequence with {@code blockTable}. */
    long slot(int[] blockTable, int position) {
        return (long) blockTable[position / blockSize] * blockSize + position % blockSize;
    }

    /** {@code pool[slots] = k / v}: stores the new tokens' keys and values, {@code [n, kvHeads, headDim]} each. */
    void write(int layer, NDArray slots, NDArray k, NDArray v) {
        NDIndex at = new NDIndex("{}", slots);
        keys.get(layer).set(at, k);
        values.get(layer).set(at, v);
    }

    /** Keys of the given slots in order: {@code [slots.length, kvHeads, headDim]} (a gathered copy). */
    NDArray keys(int layer, NDArray slots) {
        return keys.get(layer).get(new NDIndex("{}", slots));
    }

    /** Values of the given slots in order: {@code [slots.length, kvHeads, headDim]}. */
    NDArray values(int layer, NDArray slots) {
        return values.get(layer).get(new NDIndex("{}", slots));
    }

    /** Copies whole blocks {@code source[i] -> target[i]} in every layer (copy-on-write of shared blocks). */
    void copyBlocks(NDArray sourceSlots, NDArray targetSlots) {
        NDIndex from = new NDIndex("{}", sourceSlots);
        NDIndex to = new NDIndex("{}", targetSlots);
        for (List<NDArray> pools : List.of(keys, values)) {
            for (NDArray pool : pools) {
                try (NDArray copied = pool.get(from)) {
                    pool.set(to, copied);
                }
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
