// The MLP's activation over the fused gate_up projection (HF GlmMLP: gate, up = chunk(2); up * silu(gate)).
#include "common.cuh"

// gate_up rows: [gate (inter) | up (inter)]; out rows: inter. Four columns per thread (inter % 4 == 0, checked by
// the caller), rows over grid.y. grid: (ceil(inter / (4 * blockDim.x)), min(rows, 65535)).
extern "C" __global__ void silu_mul(const float* gate_up, elem_t* out, int rows, int inter) {
    follow_previous_kernel();
    const int c = (blockIdx.x * blockDim.x + threadIdx.x) * 4;
    if (c >= inter) return;
    for (long long r = blockIdx.y; r < rows; r += gridDim.y) {
        const float4 g = *reinterpret_cast<const float4*>(gate_up + r * 2 * inter + c);
        const float4 u = *reinterpret_cast<const float4*>(gate_up + r * 2 * inter + inter + c);
        elem_t* o = out + r * inter + c;
        o[0] = from_float(u.x * (g.x / (1.f + expf(-g.x))));
        o[1] = from_float(u.y * (g.y / (1.f + expf(-g.y))));
        o[2] = from_float(u.z * (g.z / (1.f + expf(-g.z))));
        o[3] = from_float(u.w * (g.w / (1.f + expf(-g.w))));
    }
}
