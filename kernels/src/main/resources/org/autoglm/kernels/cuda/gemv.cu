// Linear layers of a batch-1 decode step: y[o] = Σ_k x[k] · w[o][k] for one input row. This is pure weight
// streaming, so the kernel is built for bytes in flight: each lane keeps GEMV_ROWS x GEMV_UNROLL independent
// 16-byte weight loads outstanding, and x is staged once per block in shared memory.
//
// Staging can compute x, which takes the neighbouring small kernels out of the step (each launch costs more than
// its work at batch 1):
//   copy     x as given
//   silu     x = up * silu(gate) from the gate_up projection (instead of silu_mul)
//   rmsnorm  x = rmsnorm(residual) * weight, as add_rmsnorm computes it (every block normalises the whole row)
// and the result can be stored (y = ...) or added into the residual stream (y += ..., instead of the add of
// add_rmsnorm: every output element belongs to one warp, so the add needs no synchronisation).
#include "common.cuh"

#define GEMV_WARPS 8
#define GEMV_ROWS 2     // output rows per warp
#define GEMV_UNROLL 4   // 16-byte loads per row and lane in flight

#define GEMV_STORE 0
#define GEMV_ADD 1

// After x is in shared memory (xs, `in` elements): this warp's GEMV_ROWS rows of y.
template <int OUT>
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
        if (lane == 0 && o0 + r < out) {
            if (OUT == GEMV_ADD) y[o0 + r] += v; else y[o0 + r] = v;
        }
    }
}

// Staging, with every thread of the block; xs holds `in` elem_t (dynamic shared memory).
__device__ __forceinline__ void stage_copy(const elem_t* x, elem_t* xs, int in) {
    for (int c = threadIdx.x; c < in / VEC; c += blockDim.x) {
        reinterpret_cast<uint4*>(xs)[c] = reinterpret_cast<const uint4*>(x)[c];
    }
}

// gate_up [gate (in) | up (in)] fp32; rounded to elem_t as silu_mul stores it.
__device__ __forceinline__ void stage_silu(const float* gate_up, elem_t* xs, int in) {
    for (int k = threadIdx.x; k < in; k += blockDim.x) {
        const float g = gate_up[k], u = gate_up[in + k];
        xs[k] = from_float(u * (g / (1.f + expf(-g))));
    }
}

// x = weight * (residual * rsqrt(mean(residual²) + eps)); block 0 also stores it to `normed` (null: not wanted).
__device__ __forceinline__ void stage_rmsnorm(const float* residual, const elem_t* weight, elem_t* normed, float eps,
                                              elem_t* xs, int in) {
    __shared__ float scratch[32];
    float ss = 0.f;
    for (int k = threadIdx.x; k < in; k += blockDim.x) ss += residual[k] * residual[k];
    ss = block_sum(ss, scratch);
    const float scale = 1.f / sqrtf(ss / in + eps);
    for (int k = threadIdx.x; k < in; k += blockDim.x) {
        const elem_t v = from_float(to_float(weight[k]) * (residual[k] * scale));
        xs[k] = v;
        if (normed != 0 && blockIdx.x == 0) normed[k] = v;
    }
}

// Every kernel: w [out, in] elem_t, in a multiple of VEC; grid: ceil(out / (GEMV_WARPS * GEMV_ROWS));
// block: GEMV_WARPS * 32; dynamic shared memory: in elem_t.

// y = x · wᵀ; x [in] elem_t, y [out] fp32.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv(const elem_t* x, const elem_t* w, float* y,
                                                                   int in, int out) {
    DYNAMIC_SHARED(uint4, gemv_x);
    elem_t* xs = reinterpret_cast<elem_t*>(gemv_x);
    stage_copy(x, xs, in);
    __syncthreads();
    gemv_rows<GEMV_STORE>(xs, w, y, in, out);
}

// residual += x · wᵀ (o_proj into the residual stream).
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_add(const elem_t* x, const elem_t* w,
                                                                       float* residual, int in, int out) {
    DYNAMIC_SHARED(uint4, gemv_x);
    elem_t* xs = reinterpret_cast<elem_t*>(gemv_x);
    stage_copy(x, xs, in);
    __syncthreads();
    gemv_rows<GEMV_ADD>(xs, w, residual, in, out);
}

// y = (up * silu(gate)) · wᵀ.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_silu(const float* gate_up, const elem_t* w,
                                                                        float* y, int in, int out) {
    DYNAMIC_SHARED(uint4, gemv_x);
    elem_t* xs = reinterpret_cast<elem_t*>(gemv_x);
    stage_silu(gate_up, xs, in);
    __syncthreads();
    gemv_rows<GEMV_STORE>(xs, w, y, in, out);
}

// residual += (up * silu(gate)) · wᵀ (down_proj into the residual stream).
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_silu_add(const float* gate_up, const elem_t* w,
                                                                            float* residual, int in, int out) {
    DYNAMIC_SHARED(uint4, gemv_x);
    elem_t* xs = reinterpret_cast<elem_t*>(gemv_x);
    stage_silu(gate_up, xs, in);
    __syncthreads();
    gemv_rows<GEMV_ADD>(xs, w, residual, in, out);
}

// y = rmsnorm(residual) * weight · wᵀ (a layer norm and the projection after it); normed: the normalised row, or null.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_rmsnorm(const float* residual, const elem_t* weight,
                                                                           elem_t* normed, float eps, const elem_t* w,
                                                                           float* y, int in, int out) {
    DYNAMIC_SHARED(uint4, gemv_x);
    elem_t* xs = reinterpret_cast<elem_t*>(gemv_x);
    stage_rmsnorm(residual, weight, normed, eps, xs, in);
    __syncthreads();
    gemv_rows<GEMV_STORE>(xs, w, y, in, out);
}
