// What happens to the fused q/k/v projection before attention, in one pass per token: the q/k/v biases, GLM's
// interleaved partial rotary embedding on q and k (HF glm apply_rotary_pos_emb: within the first rotary_dim dims
// of each head, pair (2i, 2i+1) turns by position * inv_freq[i]; the other dims pass through), and the write of
// the token's k and v into the paged KV cache.
#include "common.cuh"

// qkv rows: [q heads (num_heads * head_dim) | k heads (num_kv_heads * head_dim) | v heads], updated in place
// (q and k rotated, biases added). bias: same width, or null. Cache layout of one layer:
// [num_blocks, block_size, num_kv_heads, head_dim]; slots[t] = block * block_size + offset, or < 0 for padding
// (nothing written). grid: tokens; block: any (threads stride over pairs of the row).
extern "C" __global__ void bias_rope_kv_write(float* qkv, const elem_t* bias, const int* positions,
                                              const float* inv_freq, const int* slots, elem_t* k_cache,
                                              elem_t* v_cache, int num_heads, int num_kv_heads, int head_dim,
                                              int rotary_dim) {
    follow_previous_kernel();
    const int width = (num_heads + 2 * num_kv_heads) * head_dim;
    const float pos = (float) positions[blockIdx.x];
    const int slot = slots[blockIdx.x];
    float* row = qkv + (long long) blockIdx.x * width;
    for (int p = threadIdx.x; p < width / 2; p += blockDim.x) {
        const int c = 2 * p;
        bias_rope_kv_pair(row, c, row[c], row[c + 1], bias, pos, inv_freq, slot, k_cache, v_cache, num_heads,
                          num_kv_heads, head_dim, rotary_dim);
    }
}
