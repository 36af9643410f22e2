package org.autoglm.kernels.cuda;

/**
 * A GEMM over two e4m3 operands with fp32 accumulation and output, no scales: {@code y[rows, out] = xq[rows, in] ·
 * wq[out, in]ᵀ} on the raw e4m3 values (the caller applies the row and channel scales). cuBLASLt on sm_90
 * ({@link CublasLtFp8Gemm}); the tests' host emulation has its own.
 */
public interface Fp8Gemm extends AutoCloseable {

    /** Whether this shape has an algorithm here (else the caller runs another path). */
    boolean supports(int rows, int in, int out);

    /**
     * Queues the product of a shape that {@link #supports}. {@code in} and {@code out} are multiples of 16; the
     * addresses 16-byte aligned.
     */
    void linear(long xq, long wq, long y, int rows, int in, int out);

    @Override
    void close();
}
