package org.autoglm.kernels.cuda;

import com.sun.jna.Memory;
import java.util.HashMap;
import java.util.Map;

/**
 * {@link Fp8Gemm} through cuBLASLt, the "TN" layout its fp8 kernels need: in column-major terms
 * {@code yᵀ[out, rows] = w[out, in] · xqᵀ[in, rows]}, A = the row-major weights read transposed (OP_T), B = the
 * row-major activations (OP_N), C = D = y in fp32. The algorithm of each shape is chosen once by cuBLASLt's heuristic
 * and kept with its layouts; the workspace is ours (no allocation inside a step).
 */
public final class CublasLtFp8Gemm implements Fp8Gemm {

    private static final long WORKSPACE_BYTES = 32L << 20;

    /** A shape's layouts and algorithm; {@code algo} null where cuBLASLt offered none. */
    private record Plan(long a, long b, long d, Memory algo) {}

    private final CudaDevice device;
    private final long handle;
    private final long desc;
    private final long preference;
    private final DeviceBuffer workspace;
    private final Memory one = new Memory(4);
    private final Memory zero = new Memory(4);
    private final Map<Long, Plan> plans = new HashMap<>();

    public CublasLtFp8Gemm(CudaDevice device) {
        CublasLt.load();
        this.device = device;
        long[] h = new long[1];
        CublasLt.check(CublasLt.cublasLtCreate(h), "cublasLtCreate");
        this.handle = h[0];
        CublasLt.check(CublasLt.cublasLtMatmulDescCreate(h, CublasLt.COMPUTE_32F, CublasLt.CUDA_R_32F),
                "cublasLtMatmulDescCreate");
        this.desc = h[0];
        Memory value = new Memory(8);
        value.setInt(0, CublasLt.OP_T);
        CublasLt.check(CublasLt.cublasLtMatmulDescSetAttribute(desc, CublasLt.MATMUL_DESC_TRANSA, value, 4),
                "cublasLtMatmulDescSetAttribute(TRANSA)");
        value.setInt(0, CublasLt.OP_N);
        CublasLt.check(CublasLt.cublasLtMatmulDescSetAttribute(desc, CublasLt.MATMUL_DESC_TRANSB, value, 4),
                "cublasLtMatmulDescSetAttribute(TRANSB)");
        // no fast accumulation: its partial sums stay in the tensor cores' narrower accumulator
        value.setByte(0, (byte) 0);
        CublasLt.check(CublasLt.cublasLtMatmulDescSetAttribute(desc, CublasLt.MATMUL_DESC_FAST_ACCUM, value, 1),
                "cublasLtMatmulDescSetAttribute(FAST_ACCUM)");
        CublasLt.check(CublasLt.cublasLtMatmulPreferenceCreate(h), "cublasLtMatmulPreferenceCreate");
        this.preference = h[0];
        value.setLong(0, WORKSPACE_BYTES);
        CublasLt.check(CublasLt.cublasLtMatmulPreferenceSetAttribute(preference,
                CublasLt.MATMUL_PREF_MAX_WORKSPACE_BYTES, value, 8), "cublasLtMatmulPreferenceSetAttribute");
        this.workspace = device.allocate(WORKSPACE_BYTES, "cuBLASLt workspace");
        one.setFloat(0, 1f);
        zero.setFloat(0, 0f);
    }

    @Override
    public boolean supports(int rows, int in, int out) {
        return plan(rows, in, out).algo() != null;
    }

    @Override
    public void linear(long xq, long wq, long y, int rows, int in, int out) {
        Plan p = plan(rows, in, out);
        if (p.algo() == null) throw new IllegalStateException("no fp8 algorithm for rows " + rows + ", in " + in + ", out " + out);
        int status = CublasLt.cublasLtMatmul(handle, desc, one, wq, p.a(), xq, p.b(), zero, y, p.d(), y, p.d(),
                p.algo(), workspace.address(), WORKSPACE_BYTES, device.stream());
        if (status != 0) CublasLt.check(status, "cublasLtMatmul(fp8, rows " + rows + ", in " + in + ", out " + out + ")");
    }

    private Plan plan(int rows, int in, int out) {
        return plans.computeIfAbsent(((long) rows << 42) ^ ((long) in << 21) ^ out, k -> newPlan(rows, in, out));
    }

    private Plan newPlan(int rows, int in, int out) {
        long[] l = new long[1];
        CublasLt.check(CublasLt.cublasLtMatrixLayoutCreate(l, CublasLt.CUDA_R_8F_E4M3, in, out, in),
                "cublasLtMatrixLayoutCreate(A)");
        long a = l[0];
        CublasLt.check(CublasLt.cublasLtMatrixLayoutCreate(l, CublasLt.CUDA_R_8F_E4M3, in, rows, in),
                "cublasLtMatrixLayoutCreate(B)");
        long b = l[0];
        CublasLt.check(CublasLt.cublasLtMatrixLayoutCreate(l, CublasLt.CUDA_R_32F, out, rows, out),
                "cublasLtMatrixLayoutCreate(D)");
        long d = l[0];
        Memory result = new Memory(CublasLt.HEURISTIC_RESULT_BYTES);
        int[] found = new int[1];
        int status = CublasLt.cublasLtMatmulAlgoGetHeuristic(handle, desc, a, b, d, d, preference, 1, result, found);
        // NOT_SUPPORTED (15) or no result: this shape runs another path
        if (status != 0 && status != 15) CublasLt.check(status, "cublasLtMatmulAlgoGetHeuristic");
        return new Plan(a, b, d, status == 0 && found[0] > 0 ? result : null);
    }

    @Override
    public void close() {
        for (Plan p : plans.values()) {
            CublasLt.cublasLtMatrixLayoutDestroy(p.a());
            CublasLt.cublasLtMatrixLayoutDestroy(p.b());
            CublasLt.cublasLtMatrixLayoutDestroy(p.d());
        }
        plans.clear();
        CublasLt.cublasLtMatmulPreferenceDestroy(preference);
        CublasLt.cublasLtMatmulDescDestroy(desc);
        CublasLt.cublasLtDestroy(handle);
    }
}
