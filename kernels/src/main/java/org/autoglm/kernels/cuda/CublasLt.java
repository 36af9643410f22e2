package org.autoglm.kernels.cuda;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * cuBLASLt ({@code libcublasLt}): the fp8 GEMM of quantized prefill ({@link CublasLtFp8Gemm}). Direct mapping, as
 * {@link Cublas}; handles and descriptors are {@code long}s, out-parameters one-element arrays. Only functions that
 * CUDA 12 and 13 both export are bound.
 */
public final class CublasLt {

    public static final int CUDA_R_32F = 0;
    public static final int CUDA_R_8F_E4M3 = 28;
    public static final int COMPUTE_32F = 68;
    public static final int OP_N = 0;
    public static final int OP_T = 1;
    /** cublasLtMatmulDescAttributes_t */
    public static final int MATMUL_DESC_TRANSA = 3;
    public static final int MATMUL_DESC_TRANSB = 4;
    public static final int MATMUL_DESC_FAST_ACCUM = 25;
    /** cublasLtMatmulPreferenceAttributes_t */
    public static final int MATMUL_PREF_MAX_WORKSPACE_BYTES = 1;
    /**
     * Bytes of one cublasLtMatmulHeuristicResult_t: the algorithm (8 uint64), workspace size, status, waves and 4
     * reserved ints. The algorithm is its first 64 bytes.
     */
    public static final int HEURISTIC_RESULT_BYTES = 96;

    private static boolean loaded;

    private CublasLt() {}

    public static synchronized void load() {
        if (!loaded) {
            try {
                Native.register(CublasLt.class, CudaLibraries.load("cublasLt"));
            } catch (UnsatisfiedLinkError e) {
                throw new CudaException("libcublasLt lacks a function we need: " + e.getMessage());
            }
            loaded = true;
        }
    }

    public static void check(int status, String call) {
        if (status != 0) {
            throw new CudaException(call + " failed with cuBLAS status " + status + " (" + Cublas.statusName(status)
                    + ")", status);
        }
    }

    public static native int cublasLtCreate(long[] handle);
    public static native int cublasLtDestroy(long handle);
    public static native int cublasLtMatmulDescCreate(long[] desc, int computeType, int scaleType);
    public static native int cublasLtMatmulDescDestroy(long desc);
    public static native int cublasLtMatmulDescSetAttribute(long desc, int attribute, Pointer value, long bytes);
    public static native int cublasLtMatrixLayoutCreate(long[] layout, int type, long rows, long cols, long ld);
    public static native int cublasLtMatrixLayoutDestroy(long layout);
    public static native int cublasLtMatmulPreferenceCreate(long[] preference);
    public static native int cublasLtMatmulPreferenceDestroy(long preference);
    public static native int cublasLtMatmulPreferenceSetAttribute(long preference, int attribute, Pointer value,
            long bytes);
    public static native int cublasLtMatmulAlgoGetHeuristic(long handle, long desc, long aDesc, long bDesc,
            long cDesc, long dDesc, long preference, int requested, Pointer results, int[] returned);
    public static native int cublasLtMatmul(long handle, long desc, Pointer alpha, long a, long aDesc, long b,
            long bDesc, Pointer beta, long c, long cDesc, long d, long dDesc, Pointer algo, long workspace,
            long workspaceBytes, long stream);
}
