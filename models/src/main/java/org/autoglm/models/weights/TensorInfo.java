package org.autoglm.models.weights;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a checkpoint: its name, element type, shape and the file that holds it.
 *
 * @param name  e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype element type on disk
 * @param shape dimensions, outermost first (row-major)
 * @param file  the safetensors file the data is in
 */
public record TensorInfo(String name, DType dtype, long[] shape, Path file) {

    /** Number of elements. */
    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Bytes the data occupies on disk. */
    public long byteSize() {
        return numel() * dtype.bytes();
    }

    /** The shape as {@code [a, b]}. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeString() + " in " + file.getFileName();
    }
}
