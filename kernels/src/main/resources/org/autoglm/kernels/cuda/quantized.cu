// Linear layers over weight-only quantized matrices (--quantize fp8|int8): one byte per weight, row-major, and one
// fp32 scale per output row stored right after the matrix (at q + out * in). ChannelQuantizer (Java) makes them and
// models this arithmetic bit for bit.
//   gemv_q8          decode steps (up to QGEMV_MAX_ROWS input rows): the weights are read once, at one byte each,
//                    for all rows; a warp per output row (grid-stride), each lane 16 weights per 16-byte load.
//   dequantize_rows  prefill and larger batches where neither cuBLASLt's fp8 GEMM nor gemm_q8_tiles
//                    (quantized_gemm.cu) runs: the matrix dequantized into an elem_t scratch, which the GEMM reads.
//   quantize_rows_e4m3, scale_gemm_output
//                    around cuBLASLt's fp8 GEMM (sm_90, CublasLtFp8Gemm): activations to e4m3 with one scale per
//                    row, then the GEMM's fp32 result times the row's and the output channel's scales.
// Sums are fp32 with explicit fused multiply-adds (fmaf), so the GPU, the host emulation and the Java model agree
// exactly; the row's scale multiplies the finished sum.
#include "common.cuh"

#define QGEMV_WARPS 8
#define QGEMV_MAX_ROWS 8

// (the byte decoders fp8x4_to_float, int8x4_to_float and decode16 are in common.cuh: quantized_gemm.cu reads them too)

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

// e4m3 bits of x (|x| <= 448 or saturated to it), round to nearest even, as E4m3.encode (Java): x's magnitude on
// e4m3's grid (3 mantissa bits; subnormals below 2^-6 in steps of 2^-9), found by dividing by the grid's quantum
// (a power of two: exact) and rounding to an integer. Software on every GPU: it runs once per activation element,
// a pass small beside the GEMM it feeds, and the emulation checks exactly this code.
__device__ __forceinline__ unsigned int float_to_e4m3(float x) {
    const unsigned int sign = (__float_as_uint(x) >> 24) & 0x80u;
    const float a = fminf(fabsf(x), 448.f);
    const int biased = (int) ((__float_as_uint(a) >> 23) & 0xffu) - 127;
    const int exponent = biased < -6 ? -6 : biased;
    const float quantum = __uint_as_float((unsigned int) (exponent - 3 + 127) << 23);
    const float r = rintf(a / quantum) * quantum;
    if (r < 0x1p-6f) return sign | (unsigned int) (r * 512.f);   // subnormal (or zero): m * 2^-9
    const int e = (int) ((__float_as_uint(r) >> 23) & 0xffu) - 127;
    const unsigned int m = (__float_as_uint(r) >> 20) & 7u;          // the top 3 mantissa bits (r is on the grid)
    return sign | ((unsigned int) (e + 7) << 3) | m;
}

// Activations for the fp8 GEMM, a block per row: scale[r] = amax(|x[r]|) / 448 (1 for a zero row) and
// xq[r * in + k] = e4m3(x[r * in + k] * (448 / amax)).
extern "C" __global__ void quantize_rows_e4m3(const elem_t* x, unsigned char* xq, float* scale, int in) {
    follow_previous_kernel();
    __shared__ float scratch[32];
    const elem_t* row = x + (long long) blockIdx.x * in;
    float amax = 0.f;
    for (int k = threadIdx.x; k < in; k += blockDim.x) amax = fmaxf(amax, fabsf(to_float(row[k])));
    amax = block_max(amax, scratch);
    const float inverse = amax > 0.f ? 448.f / amax : 1.f;
    if (threadIdx.x == 0) scale[blockIdx.x] = amax > 0.f ? amax / 448.f : 1.f;
    unsigned char* out = xq + (long long) blockIdx.x * in;
    for (int k = threadIdx.x; k < in; k += blockDim.x) out[k] = (unsigned char) float_to_e4m3(to_float(row[k]) * inverse);
}

// y[r * out + o] *= row_scale[r] * channel_scale[o]: the scales the fp8 GEMM left out (it multiplies raw e4m3 values).
extern "C" __global__ void scale_gemm_output(float* y, const float* row_scale, const float* channel_scale, int rows,
        int out) {
    follow_previous_kernel();
    const long long n = (long long) rows * out;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        y[i] *= row_scale[i / out] * channel_scale[i % out];
    }
}
