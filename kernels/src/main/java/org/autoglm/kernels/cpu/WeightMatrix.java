package org.autoglm.kernels.cpu;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A weight matrix {@code [rows, cols]} in the Hugging Face {@code [out, in]} layout, read in place from memory-mapped
 * files. The rows are split into slabs of at most {@link #MAX_SLAB_BYTES} (a mapping holds at most 2 GiB); each slab
 * holds its rows' weights and, for quantized types, their fp16 block scales ({@code cols / 32} per row).
 */
final class WeightMatrix {

    /** Largest slab mapped at once. */
    static final long MAX_SLAB_BYTES = 1L << 30;

    /**
     * One run of rows: little-endian weights, and scales (null for float types), each from position 0: the kernels
     * index them from there, and on JDK 22+ a buffer's memory segment starts at its position ({@link VectorLoads}).
     */
    record Slab(ByteBuffer data, ByteBuffer scales) {
        Slab {
            if (data.position() != 0 || (scales != null && scales.position() != 0)) {
                throw new IllegalArgumentException("a slab's buffers start at position 0, not " + data.position()
                        + (scales == null ? "" : " / " + scales.position()));
            }
        }
    }

    final WeightType type;
    final int rows;
    final int cols;
    final int rowsPerSlab;
    final Slab[] slabs;

    WeightMatrix(WeightType type, int rows, int cols, int rowsPerSlab, Slab[] slabs) {
        if (type.quantized() && cols % WeightType.BLOCK != 0) {
            throw new IllegalArgumentException(type + " needs rows of a multiple of 32 weights, not " + cols);
        }
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.rowsPerSlab = rowsPerSlab;
        this.slabs = slabs;
        for (Slab s : slabs) {
            s.data().order(ByteOrder.LITTLE_ENDIAN);
            if (s.scales() != null) {
                s.scales().order(ByteOrder.LITTLE_ENDIAN);
            }
        }
    }

    /** Rows per slab so that one slab's bytes stay within {@link #MAX_SLAB_BYTES}. */
    static int rowsPerSlab(WeightType type, int rows, int cols) {
        long rowBytes = type.quantBytes(cols) + type.scaleBytes(cols);
        long fit = MAX_SLAB_BYTES / rowBytes;
        // a multiple of 64 rows when split, so that quantizing in runs of 64 rows never crosses a slab
        return fit >= rows ? rows : (int) Math.max(64, fit / 64 * 64);
    }

    /** Bytes of the weights (and scales) as held. */
    long bytes() {
        return (long) rows * (type.quantBytes(cols) + type.scaleBytes(cols));
    }

    Slab slabOf(int row) {
        return slabs[row / rowsPerSlab];
    }

    /** Widens row {@code row} into {@code out[offset .. offset + cols)}. */
    void decodeRow(int row, float[] out, int offset) {
        Slab slab = slabOf(row);
        VectorKernels.decodeRow(type, slab.data(), slab.scales(), row % rowsPerSlab, cols, out, offset);
    }
}
