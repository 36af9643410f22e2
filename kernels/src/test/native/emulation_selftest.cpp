// Kernels that check the host emulation itself (EmulationSelfTest), compiled into the same library.
#include "cuda_emulation.h"
#include "common.cuh"

// out[t] = warp sum of lane ids, block sum of thread ids, lane 5's value, the value 3 lanes down (own past the end).
extern "C" __global__ void selftest_collectives(int* out) {
    __shared__ float scratch[32];
    const int t = threadIdx.x, lane = t & 31;
    out[4 * t] = (int) warp_sum((float) lane);
    out[4 * t + 1] = (int) block_sum((float) t, scratch);
    out[4 * t + 2] = __shfl_sync(0xffffffffu, t, 5);
    out[4 * t + 3] = __shfl_down_sync(0xffffffffu, t, 3);
}
EMU_KERNEL(selftest_collectives)

// Half a warp waits at a block barrier while the other half waits in a full-warp shuffle: neither can complete
// (on a GPU: a hang, or undefined behaviour).
extern "C" __global__ void selftest_mismatched_barriers(int* out) {
    if ((threadIdx.x & 31) < 16) {
        __syncthreads();
    } else {
        out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int) threadIdx.x, 1);
    }
}
EMU_KERNEL(selftest_mismatched_barriers)

// One warp-wide m16n8k16 product with A[i][k] = i + k, B[k][j] = k - j, packed in the PTX fragment layouts.
extern "C" __global__ void selftest_mma(float* out) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    auto bf = [](int v) { return (unsigned int) (__float_as_uint((float) v) >> 16); };   // small ints are exact
    auto a_at = [&](int i, int k) { return bf(i + k) | (bf(i + k + 1) << 16); };            // (k, k + 1) of row i
    auto b_at = [&](int k, int j) { return bf(k - j) | (bf(k + 1 - j) << 16); };            // (k, k + 1) of column j
    unsigned int a[4] = {a_at(g, 2 * t), a_at(g + 8, 2 * t), a_at(g, 2 * t + 8), a_at(g + 8, 2 * t + 8)};
    unsigned int b[2] = {b_at(2 * t, g), b_at(2 * t + 8, g)};
    float c[4] = {0.f, 0.f, 0.f, 0.f};
    mma_bf16_16816(c, a, b);
    out[g * 8 + 2 * t] = c[0];
    out[g * 8 + 2 * t + 1] = c[1];
    out[(g + 8) * 8 + 2 * t] = c[2];
    out[(g + 8) * 8 + 2 * t + 1] = c[3];
}
EMU_KERNEL(selftest_mma)
