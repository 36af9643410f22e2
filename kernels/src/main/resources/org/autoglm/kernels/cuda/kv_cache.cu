// Writes the new tokens' keys and values into the paged KV cache.
#include "common.cuh"

// Cache layout of one layer: [num_blocks, block_size, num_kv_heads, head_dim]; a slot is
// block * block_size + offset. slots[t] < 0 marks a padding token (nothing is written).
// grid: tokens; block: any.
extern "C" __global__ void kv_cache_write(const float* qkv, const int* slots, elem_t* k_cache, elem_t* v_cache,
                                          int num_heads, int num_kv_heads, int head_dim) {
    const int slot = slots[blockIdx.x];
    if (slot < 0) return;
    const int width = num_kv_heads * head_dim;
    const float* k = qkv + (long long) blockIdx.x * (num_heads + 2 * num_kv_heads) * head_dim + num_heads * head_dim;
    const float* v = k + width;
    elem_t* kd = k_cache + (long long) slot * width;
    elem_t* vd = v_cache + (long long) slot * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) {
        kd[i] = from_float(k[i]);
        vd[i] = from_float(v[i]);
    }
}
