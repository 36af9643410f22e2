// Linear layers of a batch-1 decode step: y[o] = Σ_k x[k] · w[o][k] for one input row. This is pure weight
// streaming, so the kernel is built for bytes in flight: each lane keeps GEMV_ROWS x GEMV_UNROLL independent
// 16-byte weight loads outstanding, and x is staged once per block in shared memory.
//
// Staging can compute x, which takes the neighbouring small kernels out of the step (each launch costs more than
// its work at batch 1):
//   copy     x as given
//   silu     x = up * silu(gate) from the gate_up projection (instead of silu_mul)
//   rmsnorm  what add_rmsnorm does, with the same arithmetic: residual' = residual + [post-norm](delta), then
//            x = rmsnorm(residual') * weight; every block computes the whole row, block 0 stores residual' (to a
//            second buffer: the others are still reading the first) and the normalised row.
#include "common.cuh"

#define GEMV_WARPS 8
#define GEMV_ROWS 2     // output rows per warp (a pair: gemv_rmsnorm_rope rotates (2i, 2i + 1) pairs)
#define GEMV_UNROLL 4   // 16-byte loads per row and lane in flight

// After x is in shared memory (xs, `in` elements): this warp's rows o0 .. o0 + GEMV_ROWS - 1 of x · wᵀ into sum
// (every lane gets them). Returns o0, or -1 when the warp has no rows (it must then leave: no barrier follows).
__device__ __forceinline__ int gemv_dot(const elem_t* xs, const elem_t* w, int in, int out, float* sum) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int o0 = (blockIdx.x * GEMV_WARPS + warp) * GEMV_ROWS;
    if (o0 >= out) return -1;
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
    for (int r = 0; r < GEMV_ROWS; r++) sum[r] = warp_sum(acc[r]);
    return o0;
}

// y[o0 ..] = sum, by lane 0.
__device__ __forceinline__ void gemv_store(float* y, int o0, int out, const float* sum) {
    if ((threadIdx.x & 31) != 0) return;
#pragma unroll
    for (int r = 0; r < GEMV_ROWS; r++) {
        if (o0 + r < out) y[o0 + r] = sum[r];
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

// What add_rmsnorm computes, for one row: with delta (else residual as it is),
//   r = residual + (post_weight ? rmsnorm(delta) * post_weight : delta)     (glm4's post_*_layernorm)
// and x = rmsnorm(r) * weight. Block 0 stores r to residual_out (with delta) and x to normed (unless null).
struct AddNorm {
    const float* residual;
    const float* delta;
    const elem_t* post_weight;
    float* residual_out;
    const elem_t* weight;
    elem_t* normed;
    float eps;
};

__device__ __forceinline__ float add_norm_row(const AddNorm& n, float post_scale, int k) {
    if (n.delta == 0) return n.residual[k];
    const float v = n.post_weight != 0 ? to_float(n.post_weight[k]) * (n.delta[k] * post_scale) : n.delta[k];
    return n.residual[k] + v;
}

__device__ __forceinline__ void stage_rmsnorm(const AddNorm& n, elem_t* xs, int in) {
    __shared__ float scratch[32];
    float post_scale = 1.f;
    if (n.delta != 0 && n.post_weight != 0) {
        float ss = 0.f;
        for (int k = threadIdx.x; k < in; k += blockDim.x) ss += n.delta[k] * n.delta[k];
        ss = block_sum(ss, scratch);
        post_scale = 1.f / sqrtf(ss / in + n.eps);
    }
    float ss = 0.f;
    for (int k = threadIdx.x; k < in; k += blockDim.x) {
        const float r = add_norm_row(n, post_scale, k);
        ss += r * r;
    }
    ss = block_sum(ss, scratch);
    const float scale = 1.f / sqrtf(ss / in + n.eps);
    for (int k = threadIdx.x; k < in; k += blockDim.x) {
        const float r = add_norm_row(n, post_scale, k);
        const elem_t v = from_float(to_float(n.weight[k]) * (r * scale));
        xs[k] = v;
        if (blockIdx.x == 0) {
            if (n.normed != 0) n.normed[k] = v;
            if (n.delta != 0) n.residual_out[k] = r;
        }
    }
}

#define STAGE_COPY 0
#define STAGE_SILU 1
#define STAGE_RMSNORM 2

// One block's work: stage x (STAGE_*: input is x, gate_up, or unused with the AddNorm) in dynamic shared memory,
// then this warp's rows of x · wᵀ into sum. Returns the warp's first row, or -1 when it has none.
template <int STAGE>
__device__ __forceinline__ int gemv_block(const void* input, const AddNorm& norm, const elem_t* w, int in, int out,
                                          float* sum) {
    DYNAMIC_SHARED(uint4, gemv_x);
    elem_t* xs = reinterpret_cast<elem_t*>(gemv_x);
    if (STAGE == STAGE_COPY) stage_copy(static_cast<const elem_t*>(input), xs, in);
    if (STAGE == STAGE_SILU) stage_silu(static_cast<const float*>(input), xs, in);
    if (STAGE == STAGE_RMSNORM) stage_rmsnorm(norm, xs, in);
    __syncthreads();
    return gemv_dot(xs, w, in, out, sum);
}

// Every kernel: w [out, in] elem_t, in a multiple of VEC; grid: ceil(out / (GEMV_WARPS * GEMV_ROWS));
// block: GEMV_WARPS * 32; dynamic shared memory: in elem_t.

// y = x · wᵀ; x [in] elem_t, y [out] fp32.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv(const elem_t* x, const elem_t* w, float* y,
                                                                   int in, int out) {
    follow_previous_kernel();
    float sum[GEMV_ROWS];
    const int o0 = gemv_block<STAGE_COPY>(x, AddNorm{}, w, in, out, sum);
    if (o0 >= 0) gemv_store(y, o0, out, sum);
}

// y = (up * silu(gate)) · wᵀ.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_silu(const float* gate_up, const elem_t* w,
                                                                        float* y, int in, int out) {
    follow_previous_kernel();
    float sum[GEMV_ROWS];
    const int o0 = gemv_block<STAGE_SILU>(gate_up, AddNorm{}, w, in, out, sum);
    if (o0 >= 0) gemv_store(y, o0, out, sum);
}

// y = add_rmsnorm(...) · wᵀ: a residual add and layer norm (see AddNorm) and the projection after it.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_rmsnorm(
        const float* residual, const float* delta, const elem_t* post_weight, float* residual_out,
        const elem_t* weight, elem_t* normed, float eps, const elem_t* w, float* y, int in, int out) {
    follow_previous_kernel();
    float sum[GEMV_ROWS];
    const AddNorm norm{residual, delta, post_weight, residual_out, weight, normed, eps};
    const int o0 = gemv_block<STAGE_RMSNORM>(0, norm, w, in, out, sum);
    if (o0 >= 0) gemv_store(y, o0, out, sum);
}

// The attention block's input for one token: qkv = add_rmsnorm(...) · wᵀ (as gemv_rmsnorm), then what bias_rope_kv_write does
// (rope.cu, same arithmetic): + bias (or null), GLM's interleaved rotary on the q and k heads' first rotary_dim dims,
// k and v into the cache slot (slots[0] < 0: none). A warp's two rows are one rotary pair (o0 even).
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_rmsnorm_rope(
        const float* residual, const float* delta, const elem_t* post_weight, float* residual_out,
        const elem_t* weight, elem_t* normed, float eps, const elem_t* w, float* qkv, int in, int out,
        const elem_t* bias, const int* positions, const float* inv_freq, const int* slots, elem_t* k_cache,
        elem_t* v_cache, int num_heads, int num_kv_heads, int head_dim, int rotary_dim) {
    follow_previous_kernel();
    float sum[GEMV_ROWS];
    const AddNorm norm{residual, delta, post_weight, residual_out, weight, normed, eps};
    const int c = gemv_block<STAGE_RMSNORM>(0, norm, w, in, out, sum);
    if (c < 0 || (threadIdx.x & 31) != 0) return;
    const int head = c / head_dim, d = c - head * head_dim;
    float x0 = sum[0], x1 = sum[1];
    if (bias != 0) {
        x0 += to_float(bias[c]);
        x1 += to_float(bias[c + 1]);
    }
    if (head < num_heads + num_kv_heads && d < rotary_dim) {
        float s, co;
        sincosf((float) positions[0] * inv_freq[d / 2], &s, &co);
        const float r0 = x0 * co - x1 * s;
        const float r1 = x1 * co + x0 * s;
        x0 = r0;
        x1 = r1;
    }
    qkv[c] = x0;
    qkv[c + 1] = x1;
    const int slot = slots[0];
    if (slot >= 0 && head >= num_heads) {
        const bool is_k = head < num_heads + num_kv_heads;
        const long long at = (long long) slot * num_kv_heads * head_dim
                + (long long) (head - num_heads - (is_k ? 0 : num_kv_heads)) * head_dim + d;
        elem_t* dst = is_k ? k_cache : v_cache;
        dst[at] = from_float(x0);
        dst[at + 1] = from_float(x1);
    }
}
