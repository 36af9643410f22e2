package org.autoglm.kernels.cuda;

import com.sun.jna.Memory;

/**
 * {@link Gemm} through cuBLAS, with row-major PyTorch weights and fp32 accumulation. Inputs are bf16
 * ({@code bf16 = true}) or fp32 (exact parity: the pedantic compute type keeps TF32 off).
 */
public final class CublasGemm implements Gemm {

    private static final long WORKSPACE_BYTES = 32L << 20;   // cuBLAS must not allocate inside graph capture

    private final long handle;
    private final int inputType;
    private final int computeType;
    private final Memory one = new Memory(4);
    private final Memory zero = new Memory(4);

    public CublasGemm(CudaDevice device, boolean bf16) {
        Cublas.load();
        long[] h = new long[1];
        Cublas.check(Cublas.cublasCreate_v2(h), "cublasCreate");
        this.handle = h[0];
        Cublas.check(Cublas.cublasSetStream_v2(handle, device.stream()), "cublasSetStream");
        DeviceBuffer workspace = device.allocate(WORKSPACE_BYTES, "cuBLAS workspace");
        Cublas.check(Cublas.cublasSetWorkspace_v2(handle, workspace.address(), WORKSPACE_BYTES), "cublasSetWorkspace");
        this.inputType = bf16 ? Cublas.CUDA_R_16BF : Cublas.CUDA_R_32F;
        this.computeType = bf16 ? Cublas.COMPUTE_32F : Cublas.COMPUTE_32F_PEDANTIC;
        one.setFloat(0, 1f);
        zero.setFloat(0, 0f);
    }

    /**
     * In cuBLAS's column-major terms: {@code yᵀ[out, rows] = w[out, in] · xᵀ[in, rows]}, i.e. A = w (stored as its
     * transpose, so OP_T), B = xᵀ (OP_N).
     */
    @Override
    public void linear(long x, long w, long y, int rows, int in, int out) {
        int status = Cublas.cublasGemmEx(handle, Cublas.OP_T, Cublas.OP_N, out, rows, in, one, w, inputType, in, x,
                inputType, in, zero, y, Cublas.CUDA_R_32F, out, computeType, Cublas.GEMM_DEFAULT);
        if (status != 0) {
            Cublas.check(status, "cublasGemmEx(rows " + rows + ", in " + in + ", out " + out + ")");
        }
    }

    @Override
    public void scores(long q, long k, long scores, int tokens, int headDim, int heads) {
        int status = Cublas.cublasGemmStridedBatchedEx(handle, Cublas.OP_T, Cublas.OP_N, tokens, tokens, headDim, one,
                k, inputType, headDim, 0, q, inputType, headDim, (long) tokens * headDim, zero, scores,
                Cublas.CUDA_R_32F, tokens, (long) tokens * tokens, heads, computeType, Cublas.GEMM_DEFAULT);
        if (status != 0) Cublas.check(status, "cublasGemmStridedBatchedEx(scores, " + tokens + " tokens)");
    }

    @Override
    public void weightedValues(long probs, long v, long out, int tokens, int headDim, int heads, int outStride) {
        int status = Cublas.cublasGemmStridedBatchedEx(handle, Cublas.OP_N, Cublas.OP_N, headDim, tokens, tokens, one,
                v, inputType, headDim, 0, probs, inputType, tokens, (long) tokens * tokens, zero, out, inputType,
                outStride, headDim, heads, computeType, Cublas.GEMM_DEFAULT);
        if (status != 0) Cublas.check(status, "cublasGemmStridedBatchedEx(values, " + tokens + " tokens)");
    }

    @Override
    public void close() {
        Cublas.cublasDestroy_v2(handle);
    }
}
