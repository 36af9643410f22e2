// Linear layers for small batches (decode): y[r, o] = sum_k x[r, k] * w[o, k] for up to 8 rows. Each warp streams one
// weight row with 16-byte loads and keeps one accumulator per input row, so the weights are read once per step at
// close to the memory bandwidth (a GEMM library's tiles are built for many rows).
#include "common.cuh"

#define GEMV_WARPS 8
#define GEMV_MAX_ROWS 8

// x [rows, in] and w [out, in] in elem_t, y [rows, out] fp32; in is a multiple of VEC.
// grid: ceil(out / GEMV_WARPS); block: GEMV_WARPS * 32.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_small_batch(
        const elem_t* x, const elem_t* w, float* y, int rows, int in, int out) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int o = blockIdx.x * GEMV_WARPS + warp;
    if (o >= out) return;   // no block-wide synchronisation below
    float acc[GEMV_MAX_ROWS];
    for (int r = 0; r < GEMV_MAX_ROWS; r++) acc[r] = 0.f;
    const elem_t* wrow = w + (long long) o * in;
    for (int k = lane * VEC; k < in; k += 32 * VEC) {
        float wv[VEC];
        load16(wrow + k, wv);
        for (int r = 0; r < GEMV_MAX_ROWS; r++) {
            if (r < rows) {
                float xv[VEC];
                load16(x + (long long) r * in + k, xv);
                for (int e = 0; e < VEC; e++) acc[r] += wv[e] * xv[e];
            }
        }
    }
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
            const float v = warp_sum(acc[r]);
            if (lane == 0) y[(long long) r * out + o] = v;
        }
    }
}
