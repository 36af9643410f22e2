// RMSNorm fused with the residual add (HF GlmRMSNorm: fp32 variance, weight * (x * rsqrt(var + eps))).
#include "common.cuh"

#define NORM_ROW_VECS 4   // float4s of the row per thread: rows up to 4 * 4 * 1024 = 16384 (LaunchGeometry.MAX_NORM_ROW)

// One row per block. When x is not null:
//   x' = post_weight ? rmsnorm(x) * post_weight : x     (glm4's post_self_attn / post_mlp layernorm)
//   residual += x'
// then out = rmsnorm(residual) * weight, stored as elem_t for the next GEMM.
// grid: rows; block: LaunchGeometry.normThreads(hidden) (about hidden / 16: four float4s per thread); hidden % 4 == 0.
// Each thread loads its float4s of the row (4 (threadIdx.x + j blockDim.x)) once, all at once, and keeps them in
// registers through the passes: one memory latency, and every byte read once (a prefill step's norms are pure
// traffic).
extern "C" __global__ void add_rmsnorm(const float* x, const elem_t* post_weight, float* residual,
                                       const elem_t* weight, elem_t* out, int hidden, float eps) {
    follow_previous_kernel();
    __shared__ float scratch[32];
    const long long base = (long long) blockIdx.x * hidden;
    float r[NORM_ROW_VECS][4], d[NORM_ROW_VECS][4];
#pragma unroll
    for (int j = 0; j < NORM_ROW_VECS; j++) {
        const int k = 4 * (threadIdx.x + j * blockDim.x);
        const float4 zero{0.f, 0.f, 0.f, 0.f};
        const float4 rv = k < hidden ? *reinterpret_cast<const float4*>(residual + base + k) : zero;
        const float4 dv = k < hidden && x != 0 ? *reinterpret_cast<const float4*>(x + base + k) : zero;
        r[j][0] = rv.x, r[j][1] = rv.y, r[j][2] = rv.z, r[j][3] = rv.w;
        d[j][0] = dv.x, d[j][1] = dv.y, d[j][2] = dv.z, d[j][3] = dv.w;
    }
    if (x != 0) {
        float post_scale = 1.f;
        if (post_weight != 0) {
            float ss = 0.f;
#pragma unroll
            for (int j = 0; j < NORM_ROW_VECS; j++) {
                for (int i = 0; i < 4; i++) ss += d[j][i] * d[j][i];
            }
            ss = block_sum(ss, scratch);
            post_scale = 1.f / sqrtf(ss / hidden + eps);
        }
#pragma unroll
        for (int j = 0; j < NORM_ROW_VECS; j++) {
            const int k = 4 * (threadIdx.x + j * blockDim.x);
            if (k >= hidden) continue;
            float pw[4] = {1.f, 1.f, 1.f, 1.f};
            if (post_weight != 0) load4(post_weight + k, pw);
            for (int i = 0; i < 4; i++) r[j][i] += post_weight != 0 ? pw[i] * (d[j][i] * post_scale) : d[j][i];
            *reinterpret_cast<float4*>(residual + base + k) = float4{r[j][0], r[j][1], r[j][2], r[j][3]};
        }
    }
    float ss = 0.f;
#pragma unroll
    for (int j = 0; j < NORM_ROW_VECS; j++) {
        for (int i = 0; i < 4; i++) ss += r[j][i] * r[j][i];
    }
    ss = block_sum(ss, scratch);
    const float scale = 1.f / sqrtf(ss / hidden + eps);
#pragma unroll
    for (int j = 0; j < NORM_ROW_VECS; j++) {
        const int k = 4 * (threadIdx.x + j * blockDim.x);
        if (k >= hidden) continue;
        float w[4], v[4];
        load4(weight + k, w);
        for (int i = 0; i < 4; i++) v[i] = w[i] * (r[j][i] * scale);
        store4(out + base + k, v);
    }
}
