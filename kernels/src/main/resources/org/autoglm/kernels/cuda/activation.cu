// The MLP's activation over the fused gate_up projection (HF GlmMLP: gate, up = chunk(2); up * silu(gate)).
#include "common.cuh"

// gate_up rows: [gate (inter) | up (inter)]; out rows: inter. grid-stride over rows * inter.
extern "C" __global__ void silu_mul(const float* gate_up, elem_t* out, int rows, int inter) {
    follow_previous_kernel();
    long long n = (long long) rows * inter;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        const long long r = i / inter, c = i - r * inter;
        const float g = gate_up[r * 2 * inter + c];
        const float u = gate_up[r * 2 * inter + inter + c];
        out[i] = from_float(u * (g / (1.f + expf(-g))));
    }
}
