// Linear layers of a batch-1 decode step: y[o] = Σ_k x[k] · w[o][k] for one input row. This is pure weight
// streaming, so the kernel is built for bytes in flight: each lane keeps GEMV_ROWS x GEMV_UNROLL independent
// 16-byte weight loads outstanding, and x is staged once per block in shared memory. gemv_silu also computes its
// input, act = up * silu(gate), from the gate_up projection while staging it (the silu_mul launch disappears).
#include "common.cuh"

#define GEMV_WARPS 8
#define GEMV_ROWS 2     // output rows per warp
#define GEMV_UNROLL 4   // 16-byte loads per row and lane in flight

// After x is in shared memory (xs, `in` elements): this warp's GEMV_ROWS rows of y.
__device__ __forceinline__ void gemv_rows(const elem_t* xs, const elem_t* w, float* y, int in, int out) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int o0 = (blockIdx.x * GEMV_WARPS + warp) * GEMV_ROWS;
    if (o0 >= out) return;   // no barrier follows
    const int chunks = in / VEC;
    float acc[GEMV_ROWS];
#pragma unroll
    for (int r = 0; r < GEMV_ROWS; r++) acc[r] = 0.f;
    for (int c0 = lane; c0 < chunks; c0 += 32 * GEMV_UNROLL) {
        uint4 wv[GEMV_ROWS][GEMV_UNROLL];
#pragma unroll
        for (int r = 0; r < GEMV_ROWS; r++) {
#pragma unroll
            for (int u = 0; u < GEMV_UNROLL; u++) {
                const int c = c0 + 32 * u;
                wv[r][u] = uint4{0u, 0u, 0u, 0u};
                if (o0 + r < out && c < chunks) {
                    wv[r][u] = *reinterpret_cast<const uint4*>(w + (long long) (o0 + r) * in + (long long) c * VEC);
                }
            }
        }
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            const int c = c0 + 32 * u;
            if (c < chunks) {
                float xv[VEC];
                load16(xs + c * VEC, xv);
#pragma unroll
                for (int r = 0; r < GEMV_ROWS; r++) {
                    const elem_t* we = reinterpret_cast<const elem_t*>(&wv[r][u]);
#pragma unroll
                    for (int e = 0; e < VEC; e++) acc[r] += to_float(we[e]) * xv[e];
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < GEMV_ROWS; r++) {
        const float v = warp_sum(acc[r]);
        if (lane == 0 && o0 + r < out) y[o0 + r] = v;
    }
}

// x [in] elem_t, w [out, in] elem_t, y [out] fp32; in a multiple of VEC.
// grid: ceil(out / (GEMV_WARPS * GEMV_ROWS)); block: GEMV_WARPS * 32; dynamic shared memory: in elem_t.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv(const elem_t* x, const elem_t* w, float* y,
                                                                   int in, int out) {
    DYNAMIC_SHARED(uint4, gemv_x);
    for (int c = threadIdx.x; c < in / VEC; c += blockDim.x) gemv_x[c] = reinterpret_cast<const uint4*>(x)[c];
    __syncthreads();
    gemv_rows(reinterpret_cast<const elem_t*>(gemv_x), w, y, in, out);
}

// As gemv, with x = up * silu(gate) from gate_up [gate (in) | up (in)] fp32, rounded to elem_t as silu_mul stores it.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_silu(const float* gate_up, const elem_t* w,
                                                                        float* y, int in, int out) {
    DYNAMIC_SHARED(uint4, gemv_act);
    elem_t* xs = reinterpret_cast<elem_t*>(gemv_act);
    for (int k = threadIdx.x; k < in; k += blockDim.x) {
        const float g = gate_up[k], u = gate_up[in + k];
        xs[k] = from_float(u * (g / (1.f + expf(-g))));
    }
    __syncthreads();
    gemv_rows(xs, w, y, in, out);
}
