package org.autoglm.kernels.cpu;

import java.util.Locale;
import org.autoglm.models.weights.DType;

/**
 * How the CPU backend holds a weight matrix: as the checkpoint stores it ({@code F32}, {@code BF16}, {@code F16}) or
 * quantized at load in GGML's 32-weight blocks with one fp16 scale each ({@code Q8_0}: a signed byte per weight;
 * {@code Q4_0}: a nibble per weight, offset by 8). Block scales are kept apart from the quants (one fp16 per block,
 * after the matrix's quants), which is GGML's content in a layout that vector loads read straight.
 */
public enum WeightType {
    F32(4, 0),
    BF16(2, 0),
    F16(2, 0),
    Q8_0(1, 2),
    Q4_0(1, 2); // two weights per byte: see quantBytes

    /** Weights per quantization block. */
    public static final int BLOCK = 32;

    private final int elementBytes;
    private final int scaleBytes;

    WeightType(int elementBytes, int scaleBytes) {
        this.elementBytes = elementBytes;
        this.scaleBytes = scaleBytes;
    }

    public boolean quantized() {
        return scaleBytes > 0;
    }

    /** Bytes of one row's weights (quants only for quantized types). */
    public long quantBytes(int cols) {
        return this == Q4_0 ? cols / 2 : (long) cols * elementBytes;
    }

    /** Bytes of one row's block scales (0 for float types). */
    public long scaleBytes(int cols) {
        return quantized() ? (long) (cols / BLOCK) * scaleBytes : 0;
    }

    /** The stored float type of a checkpoint tensor. */
    public static WeightType of(DType dtype) {
        return switch (dtype) {
            case F32 -> F32;
            case BF16 -> BF16;
            case F16 -> F16;
        };
    }

    /** {@code q8_0} or {@code q4_0} (any case), as {@code --quantize} takes them; {@code none} gives null. */
    public static WeightType parseQuantization(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "none", "" -> null;
            case "q8_0" -> Q8_0;
            case "q4_0" -> Q4_0;
            default -> throw new IllegalArgumentException("unknown --quantize '" + name + "': use q8_0, q4_0 or none");
        };
    }

    /** The lower-case name GGML uses ({@code q8_0}, {@code bf16}, ...). */
    public String ggmlName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
