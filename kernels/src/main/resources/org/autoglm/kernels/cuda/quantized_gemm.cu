// Prefill GEMMs over weight-only quantized matrices (--quantize fp8|int8) where cuBLASLt's fp8 GEMM does not run
// (int8 everywhere; fp8 below sm_90): tiles of the weights dequantized into shared memory as bf16 and multiplied on
// tensor cores (mma.sync m16n8k16, fp32 accumulators). e4m3 and int8 values are exact in bf16, so a tile holds the
// stored values themselves and the row's scale multiplies the finished sum, as in gemv_q8. Tensor-core source:
// bf16 builds on sm_80+ only (KernelSources.TENSOR_CORE_SOURCES); elsewhere dequantize_rows and cuBLAS run.
#include "common.cuh"

#define QG_BM 64        // input rows (tokens) per block
#define QG_BN 64        // output channels per block
#define QG_BK 32        // the reduction's step
#define QG_STRIDE 40    // a tile row in elements: 32 + 8 of padding, 80 bytes (ldmatrix rows hit distinct banks)
#define QG_THREADS 128  // 4 warps, 2 x 2 over the block's 64 x 64 outputs: 32 x 32 each

// y[r * out + o] = scale[o] * sum_k x[r * in + k] * w(q[o * in + k]), scale at q + out * in; in % 32 == 0.
// Grid: (ceil(out / 64), ceil(rows / 64)). Rows and channels past the ends read zeros and write nothing.
extern "C" __global__ void __launch_bounds__(QG_THREADS) gemm_q8_tiles(const elem_t* x, const unsigned char* q,
        float* y, int rows, int in, int out, int fp8) {
    follow_previous_kernel();
    __shared__ uint4 x_raw[QG_BM * QG_STRIDE / 8];   // uint4: 16-byte aligned rows for ldmatrix
    __shared__ uint4 w_raw[QG_BN * QG_STRIDE / 8];
    elem_t* xs = reinterpret_cast<elem_t*>(x_raw);
    elem_t* ws = reinterpret_cast<elem_t*>(w_raw);
    const int m0 = blockIdx.y * QG_BM, n0 = blockIdx.x * QG_BN;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
    const float* scale = reinterpret_cast<const float*>(q + (long long) out * in);

    float acc[2][4][4];
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int i = 0; i < 4; i++) acc[mt][nt][i] = 0.f;

    for (int k0 = 0; k0 < in; k0 += QG_BK) {
        __syncthreads();   // the tiles' last readers are done
        // x: 64 rows x 32 elements, 4 loads of 16 bytes a row, 2 per thread
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int c = threadIdx.x + i * QG_THREADS, r = c >> 2, part = c & 3;
            uint4 v;
            v.x = v.y = v.z = v.w = 0u;
            if (m0 + r < rows) v = *reinterpret_cast<const uint4*>(x + (long long) (m0 + r) * in + k0 + 8 * part);
            *reinterpret_cast<uint4*>(xs + r * QG_STRIDE + 8 * part) = v;
        }
        // w: 64 channels x 32 bytes, one 16-byte load per thread, decoded to bf16 (exact)
        {
            const int r = threadIdx.x >> 1, half = threadIdx.x & 1;
            float w[16];
            if (n0 + r < out) {
                decode16(*reinterpret_cast<const uint4*>(q + (long long) (n0 + r) * in + k0 + 16 * half), fp8, w);
            } else {
#pragma unroll
                for (int e = 0; e < 16; e++) w[e] = 0.f;
            }
            elem_t* dst = ws + r * QG_STRIDE + 16 * half;
#pragma unroll
            for (int e = 0; e < 16; e++) dst[e] = from_float(w[e]);
        }
        __syncthreads();
        // A fragments (16 x 16, row-major) of the warp's two row tiles for both halves of the step
        unsigned int a[2][2][4];
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int ks = 0; ks < 2; ks++)
                ldmatrix_x4(a[mt][ks], xs + (wm + 16 * mt + (lane & 15)) * QG_STRIDE + 16 * ks + 8 * (lane >> 4));
        // B[k][n] is channel n's row: ldmatrix of 8 channel rows x 32 elements gives both halves' fragments
#pragma unroll
        for (int nt = 0; nt < 4; nt++) {
            unsigned int b[4];
            ldmatrix_x4(b, ws + (wn + 8 * nt + (lane & 7)) * QG_STRIDE + 8 * (lane >> 3));
#pragma unroll
            for (int mt = 0; mt < 2; mt++) {
                mma_bf16_16816(acc[mt][nt], a[mt][0], b);
                mma_bf16_16816(acc[mt][nt], a[mt][1], b + 2);
            }
        }
    }
    // c[0..1]: row g, channels 2t and 2t + 1; c[2..3]: row g + 8
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const int r = m0 + wm + 16 * mt + g + 8 * (i >> 1), o = n0 + wn + 8 * nt + 2 * t + (i & 1);
                if (r < rows && o < out) y[(long long) r * out + o] = acc[mt][nt][i] * scale[o];
            }
}
