// Linear layers over weight-only quantized matrices (--quantize fp8|int8): one byte per weight, row-major, and one
// fp32 scale per output row stored right after the matrix (at q + out * in). ChannelQuantizer (Java) makes them and
// models this arithmetic bit for bit.
//   gemv_q8          decode steps (up to QGEMV_MAX_ROWS input rows): the weights are read once, at one byte each,
//                    for all rows; a warp per output row (grid-stride), each lane 16 weights per 16-byte load.
//   dequantize_rows  prefill and larger batches: the matrix dequantized into an elem_t scratch tile, which the GEMM
//                    then reads (the fallback where no fp8 GEMM runs).
// Sums are fp32 with explicit fused multiply-adds (fmaf), so the GPU, the host emulation and the Java model agree
// exactly; the row's scale multiplies the finished sum.
#include "common.cuh"

#define QGEMV_WARPS 8
#define QGEMV_MAX_ROWS 8

// e4m3 to fp32, exact. From sm_89 the hardware converts two at a time; elsewhere: the 7 magnitude bits placed at
// fp32's exponent/mantissa boundary and scaled by 2^120 (exact for normals and subnormals alike). The loader never
// stores NaN (0x7F), which this path would read as 480.
__device__ __forceinline__ void fp8x4_to_float(unsigned int w, float* out) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
    unsigned int lo, hi;
    asm("{cvt.rn.f16x2.e4m3x2 %0, %1;}" : "=r"(lo) : "h"((unsigned short) (w & 0xffffu)));
    asm("{cvt.rn.f16x2.e4m3x2 %0, %1;}" : "=r"(hi) : "h"((unsigned short) (w >> 16)));
    asm("{cvt.f32.f16 %0, %1;}" : "=f"(out[0]) : "h"((unsigned short) (lo & 0xffffu)));
    asm("{cvt.f32.f16 %0, %1;}" : "=f"(out[1]) : "h"((unsigned short) (lo >> 16)));
    asm("{cvt.f32.f16 %0, %1;}" : "=f"(out[2]) : "h"((unsigned short) (hi & 0xffffu)));
    asm("{cvt.f32.f16 %0, %1;}" : "=f"(out[3]) : "h"((unsigned short) (hi >> 16)));
#else
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const unsigned int b = (w >> (8 * i)) & 0xffu;
        const float magnitude = __uint_as_float((b & 0x7fu) << 20) * 0x1p120f;
        out[i] = __uint_as_float(__float_as_uint(magnitude) | ((b & 0x80u) << 24));
    }
#endif
}

// Signed bytes to fp32, exact: 2^23 + (b ^ 0x80) as a float's mantissa, minus 2^23 + 128.
__device__ __forceinline__ void int8x4_to_float(unsigned int w, float* out) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const unsigned int b = ((w >> (8 * i)) & 0xffu) ^ 0x80u;
        out[i] = __uint_as_float(0x4b000000u | b) - 8388736.f;
    }
}

// 16 quantized weights (one 16-byte load) as floats.
__device__ __forceinline__ void decode16(const uint4& raw, int fp8, float* out) {
    const unsigned int words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        if (fp8) fp8x4_to_float(words[i], out + 4 * i); else int8x4_to_float(words[i], out + 4 * i);
    }
}

// y[r * out + o] = scale[o] * sum_k x[r * in + k] * w(q[o * in + k]) for r < rows (at most QGEMV_MAX_ROWS);
// in % 16 == 0. Lane l adds its chunks l, l + 32, ... in order, then warp_sum adds the lanes.
extern "C" __global__ void __launch_bounds__(QGEMV_WARPS * WARP) gemv_q8(const elem_t* x, const unsigned char* q,
        float* y, int rows, int in, int out, int fp8) {
    follow_previous_kernel();
    const float* scale = reinterpret_cast<const float*>(q + (long long) out * in);
    const int lane = threadIdx.x & 31;
    const int chunks = in / 16;
    for (int o = blockIdx.x * QGEMV_WARPS + (threadIdx.x >> 5); o < out; o += gridDim.x * QGEMV_WARPS) {
        const uint4* row = reinterpret_cast<const uint4*>(q + (long long) o * in);
        float acc[QGEMV_MAX_ROWS];
#pragma unroll
        for (int r = 0; r < QGEMV_MAX_ROWS; r++) acc[r] = 0.f;
        for (int c = lane; c < chunks; c += 32) {
            float w[16];
            decode16(row[c], fp8, w);
#pragma unroll
            for (int r = 0; r < QGEMV_MAX_ROWS; r++) {
                if (r < rows) {
                    const elem_t* xr = x + (long long) r * in + c * 16;
#pragma unroll
                    for (int e = 0; e < 16; e++) acc[r] = fmaf(to_float(xr[e]), w[e], acc[r]);
                }
            }
        }
#pragma unroll
        for (int r = 0; r < QGEMV_MAX_ROWS; r++) {
            if (r < rows) {
                const float sum = warp_sum(acc[r]);
                if (lane == 0) y[(long long) r * out + o] = sum * scale[o];
            }
        }
    }
}

// dst[o * in + k] = elem(w(q[o * in + k]) * scale[o]) for rows [row0, row0 + count) of the matrix, written from dst.
extern "C" __global__ void dequantize_rows(const unsigned char* q, elem_t* dst, int in, int out, int row0, int count,
        int fp8) {
    follow_previous_kernel();
    const float* scale = reinterpret_cast<const float*>(q + (long long) out * in);
    const long long chunks = (long long) count * (in / 16);
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < chunks;
         i += (long long) gridDim.x * blockDim.x) {
        const int r = (int) (i / (in / 16)), c = (int) (i % (in / 16));
        const long long at = (long long) (row0 + r) * in + c * 16;
        float w[16];
        decode16(*reinterpret_cast<const uint4*>(q + at), fp8, w);
        const float s = scale[row0 + r];
        elem_t* d = dst + (long long) r * in + c * 16;
#pragma unroll
        for (int e = 0; e < 16; e++) d[e] = from_float(w[e] * s);
    }
}

// Random quantized weights for benchmarks: bytes of small magnitude (never e4m3's NaN) and every row's scale set to
// `scale`.
extern "C" __global__ void fill_quantized(unsigned char* q, int in, int out, unsigned long long seed, float scale) {
    follow_previous_kernel();
    const long long n = (long long) in * out;
    float* scales = reinterpret_cast<float*>(q + n);
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        unsigned long long x = seed + 0x9e3779b97f4a7c15ull * (unsigned long long) (i + 1);
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x ^= x >> 31;
        q[i] = (unsigned char) (x & 0xbfu);   // bit 6 clear: |e4m3| < 2, |int8| < 64
        if (i < out) scales[i] = scale;
    }
}
