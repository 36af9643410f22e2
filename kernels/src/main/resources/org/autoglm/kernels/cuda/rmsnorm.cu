// RMSNorm fused with the residual add (HF GlmRMSNorm: fp32 variance, weight * (x * rsqrt(var + eps))).
#include "common.cuh"

// One row per block. When x is not null:
//   x' = post_weight ? rmsnorm(x) * post_weight : x     (glm4's post_self_attn / post_mlp layernorm)
//   residual += x'
// then out = rmsnorm(residual) * weight, stored as elem_t for the next GEMM.
// grid: rows; block: up to 1024 threads; dynamic shared memory: hidden floats.
extern "C" __global__ void add_rmsnorm(const float* x, const elem_t* post_weight, float* residual,
                                       const elem_t* weight, elem_t* out, int hidden, float eps) {
    follow_previous_kernel();
    DYNAMIC_SHARED(float, row);
    __shared__ float scratch[32];
    const long long base = (long long) blockIdx.x * hidden;
    if (x != 0) {
        float post_scale = 1.f;
        if (post_weight != 0) {
            float ss = 0.f;
            for (int i = threadIdx.x; i < hidden; i += blockDim.x) { float v = x[base + i]; ss += v * v; }
            ss = block_sum(ss, scratch);
            post_scale = 1.f / sqrtf(ss / hidden + eps);
        }
        for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
            float v = x[base + i];
            if (post_weight != 0) v = to_float(post_weight[i]) * (v * post_scale);
            float r = residual[base + i] + v;
            residual[base + i] = r;
            row[i] = r;
        }
    } else {
        for (int i = threadIdx.x; i < hidden; i += blockDim.x) row[i] = residual[base + i];
    }
    float ss = 0.f;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) ss += row[i] * row[i];
    ss = block_sum(ss, scratch);
    const float scale = 1.f / sqrtf(ss / hidden + eps);
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        out[base + i] = from_float(to_float(weight[i]) * (row[i] * scale));
    }
}
