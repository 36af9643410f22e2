// Token embedding lookup and row gathers.
#include "common.cuh"

// residual[t, :] = table[ids[t], :] widened to fp32 (the residual stream is kept in fp32).
// grid: tokens; block: any.
extern "C" __global__ void embedding_gather(const int* ids, const elem_t* table, float* out, int hidden) {
    trace_mark(TRACE_EMBEDDING, 0);
    follow_previous_kernel();
    trace_mark(TRACE_EMBEDDING, 1);
    const elem_t* row = table + (long long) ids[blockIdx.x] * hidden;
    float* dst = out + (long long) blockIdx.x * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = to_float(row[i]);
    trace_mark(TRACE_EMBEDDING, 7);
}

// dst[r, :] = src[rows[r], :]: picks the tokens whose logits are wanted. grid: picked rows; block: any.
extern "C" __global__ void gather_rows(const int* rows, const elem_t* src, elem_t* dst, int width) {
    follow_previous_kernel();
    const elem_t* s = src + (long long) rows[blockIdx.x] * width;
    elem_t* d = dst + (long long) blockIdx.x * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) d[i] = s[i];
}
