package org.autoglm.kernels;

import static org.autoglm.kernels.plan.LaunchGeometry.strideBlocks;

import org.autoglm.kernels.cuda.Fp8Gemm;
import org.autoglm.kernels.cuda.Gemm;
import org.autoglm.kernels.cuda.KernelRuntime;
import org.autoglm.kernels.cuda.LaunchArgs;

/**
 * Linear layers over weight-only quantized matrices ({@code --quantize fp8|int8}; quantized.cu, quantized_gemm.cu):
 * the launchers of each path and the choice between them, part of {@link GlmKernels}.
 */
final class QuantizedLinears {

    private static final String QUANTIZED_SOURCE = "quantized.cu";
    private static final String QUANTIZED_GEMM_SOURCE = "quantized_gemm.cu";
    /** Input rows up to which a layer runs gemv_q8 (QGEMV_MAX_ROWS in quantized.cu). */
    static final int GEMV_MAX_ROWS = 8;
    private static final int GEMV_WARPS = 8;
    /** gemm_q8_tiles' output tile and reduction step (QG_BM, QG_BN, QG_BK in quantized_gemm.cu). */
    private static final int TILE = 64;
    private static final int TILE_K = 32;

    private final KernelRuntime runtime;
    private final LaunchArgs args;
    private final Gemm gemm;
    private final int sms;
    private final int elementBytes;
    private final WeightQuantization quantization;
    private final long gemvQ8, dequantizeRows, fillQuantized, gemmQ8Tiles, quantizeRowsE4m3, scaleGemmOutput;
    private final Fp8Gemm fp8Gemm;   // cuBLASLt's, for fp8 prefill on sm_90; null elsewhere or when turned off

    /** {@code args}: the owner's launch arguments (one stream, one launch at a time). */
    QuantizedLinears(KernelRuntime runtime, LaunchArgs args, boolean bf16, CudaConfig options) {
        this.runtime = runtime;
        this.args = args;
        this.gemm = runtime.gemm();
        this.sms = runtime.multiprocessors();
        this.elementBytes = bf16 ? 2 : 4;
        this.quantization = options.quantize;
        if (!runtime.has(QUANTIZED_SOURCE)) {
            throw new IllegalStateException("--quantize " + quantization.flagName() + ": quantized.cu did not compile"
                    + " for this GPU (see the warning above); run without --quantize");
        }
        gemvQ8 = fn(QUANTIZED_SOURCE, "gemv_q8");
        dequantizeRows = fn(QUANTIZED_SOURCE, "dequantize_rows");
        fillQuantized = fn(QUANTIZED_SOURCE, "fill_quantized");
        gemmQ8Tiles = options.quantizedTiles && runtime.has(QUANTIZED_GEMM_SOURCE)
                ? fn(QUANTIZED_GEMM_SOURCE, "gemm_q8_tiles") : 0;
        fp8Gemm = quantization == WeightQuantization.FP8 && options.cublasLtFp8 ? runtime.fp8Gemm() : null;
        quantizeRowsE4m3 = fp8Gemm != null ? fn(QUANTIZED_SOURCE, "quantize_rows_e4m3") : 0;
        scaleGemmOutput = fp8Gemm != null ? fn(QUANTIZED_SOURCE, "scale_gemm_output") : 0;
    }

    private long fn(String source, String name) {
        return runtime.function(source, name);
    }

    /** The ways a quantized linear layer runs. */
    enum Path {
        GEMV, CUBLASLT_FP8, TILES, DEQUANTIZE;

        /** As the backend's description names it: {@code cublaslt-fp8}, {@code tiles}, ... */
        String flagName() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** Which path a layer of {@code rows} input rows takes. */
    Path path(int rows, int in, int out) {
        if (rows <= GEMV_MAX_ROWS) return Path.GEMV;
        if (fp8Gemm != null && in % 16 == 0 && out % 16 == 0) return Path.CUBLASLT_FP8;
        if (gemmQ8Tiles != 0 && in % TILE_K == 0) return Path.TILES;
        return Path.DEQUANTIZE;
    }

    /**
     * {@code y = x · dequantized(q)ᵀ}: gemv_q8 for decode steps; for more rows cuBLASLt's fp8 GEMM (sm_90, fp8),
     * else gemm_q8_tiles (bf16, sm_80+), else the matrix dequantized whole into {@code scratch} (room for this
     * matrix in the element type) and cuBLAS. The fp8 GEMM falls back to the next path where cuBLASLt has no
     * algorithm for the shape.
     */
    void linear(long x, long q, long y, int rows, int in, int out, long scratch) {
        int fp8 = quantization == WeightQuantization.FP8 ? 1 : 0;
        Path path = path(rows, in, out);
        if (path == Path.GEMV) {
            int blocks = Math.min((out + GEMV_WARPS - 1) / GEMV_WARPS, 4 * sms);
            args.reset().ptr(x).ptr(q).ptr(y).i32(rows).i32(in).i32(out).i32(fp8).launch(runtime, gemvQ8, "gemv_q8",
                    blocks, 1, 1, GEMV_WARPS * 32, 0);
            return;
        }
        if (path == Path.CUBLASLT_FP8 && fp8Linear(x, q, y, rows, in, out, scratch)) return;
        if (path != Path.DEQUANTIZE && gemmQ8Tiles != 0 && in % TILE_K == 0) {
            args.reset().ptr(x).ptr(q).ptr(y).i32(rows).i32(in).i32(out).i32(fp8).launch(runtime, gemmQ8Tiles,
                    "gemm_q8_tiles", (out + TILE - 1) / TILE, (rows + TILE - 1) / TILE, 1, 128, 0);
            return;
        }
        // the whole matrix is one tile: its dequantized copy costs a pass over out × in elements, small beside a
        // GEMM of more than GEMV_MAX_ROWS rows
        args.reset().ptr(q).ptr(scratch).i32(in).i32(out).i32(0).i32(out).i32(fp8).launch(runtime, dequantizeRows,
                "dequantize_rows", strideBlocks((long) out * in / 16, 256, sms), 1, 1, 256, 0);
        gemm.linear(x, scratch, y, rows, in, out);
    }

    /**
     * The fp8 GEMM in chunks of rows whose e4m3 activations and row scales fit {@code scratch} (room for this matrix
     * in the element type); false, having launched nothing, where cuBLASLt has no algorithm for a chunk's shape.
     */
    private boolean fp8Linear(long x, long q, long y, int rows, int in, int out, long scratch) {
        long room = (long) in * out * elementBytes - 256;   // less the row scales' alignment
        int chunk = (int) Math.min(rows, room / (in + 4L));
        int last = rows % Math.max(chunk, 1);
        if (chunk < 1 || !fp8Gemm.supports(chunk, in, out) || (last > 0 && !fp8Gemm.supports(last, in, out))) {
            return false;
        }
        long channelScales = q + (long) in * out;
        long rowScales = scratch + ForwardKernels.align((long) chunk * in);
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            int n = Math.min(chunk, rows - r0);
            args.reset().ptr(x + (long) r0 * in * elementBytes).ptr(scratch).ptr(rowScales).i32(in).launch(runtime,
                    quantizeRowsE4m3, "quantize_rows_e4m3", n, 1, 1, 256, 0);
            long yr = y + 4L * r0 * out;
            fp8Gemm.linear(scratch, q, yr, n, in, out);
            args.reset().ptr(yr).ptr(rowScales).ptr(channelScales).i32(n).i32(out).launch(runtime, scaleGemmOutput,
                    "scale_gemm_output", strideBlocks((long) n * out, 256, sms), 1, 1, 256, 0);
        }
        return true;
    }

    /** Random quantized weights (benchmarks): small bytes and every row scale {@code scale}. */
    void fill(long q, int in, int out, long seed, float scale) {
        args.reset().ptr(q).i32(in).i32(out).ptr(seed).f32(scale).launch(runtime, fillQuantized, "fill_quantized",
                strideBlocks((long) in * out, 256, sms), 1, 1, 256, 0);
    }
}
