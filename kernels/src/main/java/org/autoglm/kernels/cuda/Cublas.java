package org.autoglm.kernels.cuda;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * cuBLAS ({@code libcublas}, which brings {@code libcublasLt}): the GEMMs. Direct mapping; one call per linear
 * layer. Works on the driver API's primary context, which cuBLAS's runtime shares.
 */
public final class Cublas {

    public static final int OP_N = 0;
    public static final int OP_T = 1;
    public static final int CUDA_R_32F = 0;
    public static final int CUDA_R_16BF = 14;
    public static final int COMPUTE_32F = 68;
    public static final int COMPUTE_32F_PEDANTIC = 69;
    public static final int GEMM_DEFAULT = -1;

    private static boolean loaded;

    private Cublas() {}

    public static synchronized void load() {
        if (!loaded) {
            try {
                Native.register(Cublas.class, CudaLibraries.load("cublas", "cublasLt"));
            } catch (UnsatisfiedLinkError e) {
                throw new CudaException("libcublas lacks a function we need: " + e.getMessage());
            }
            loaded = true;
        }
    }

    public static void check(int status, String call) {
        if (status != 0) {
            throw new CudaException(call + " failed with cuBLAS status " + status + " (" + statusName(status) + ")",
                    status);
        }
    }

    static String statusName(int status) {
        return switch (status) {
            case 1 -> "NOT_INITIALIZED";
            case 3 -> "ALLOC_FAILED";
            case 7 -> "INVALID_VALUE";
            case 8 -> "ARCH_MISMATCH";
            case 11 -> "MAPPING_ERROR";
            case 13 -> "EXECUTION_FAILED";
            case 14 -> "INTERNAL_ERROR";
            case 15 -> "NOT_SUPPORTED";
            default -> "unknown";
        };
    }

    public static native int cublasCreate_v2(long[] handle);
    public static native int cublasDestroy_v2(long handle);
    public static native int cublasSetStream_v2(long handle, long stream);
    public static native int cublasSetWorkspace_v2(long handle, long workspace, long bytes);
    public static native int cublasGemmEx(long handle, int transa, int transb, int m, int n, int k, Pointer alpha,
            long a, int aType, int lda, long b, int bType, int ldb, Pointer beta, long c, int cType, int ldc,
            int computeType, int algo);
    public static native int cublasGemmStridedBatchedEx(long handle, int transa, int transb, int m, int n, int k,
            Pointer alpha, long a, int aType, int lda, long strideA, long b, int bType, int ldb, long strideB,
            Pointer beta, long c, int cType, int ldc, long strideC, int batchCount, int computeType, int algo);
}
