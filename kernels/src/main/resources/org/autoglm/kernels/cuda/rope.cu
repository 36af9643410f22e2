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
    const long long kv_width = (long long) num_kv_heads * head_dim;
    float* row = qkv + (long long) blockIdx.x * width;
    for (int p = threadIdx.x; p < width / 2; p += blockDim.x) {
        const int c = 2 * p, head = c / head_dim, d = c - head * head_dim;
        float x0 = row[c], x1 = row[c + 1];
        if (bias != 0) {
            x0 += to_float(bias[c]);
            x1 += to_float(bias[c + 1]);
        }
        if (head < num_heads + num_kv_heads && d < rotary_dim) {
            float s, co;
            sincosf(pos * inv_freq[d / 2], &s, &co);
            const float r0 = x0 * co - x1 * s;   // x * cos + rotate_half(x) * sin, rotate_half = (-x1, x0)
            const float r1 = x1 * co + x0 * s;
            x0 = r0;
            x1 = r1;
        }
        row[c] = x0;
        row[c + 1] = x1;
        if (slot >= 0 && head >= num_heads) {
            const bool is_k = head < num_heads + num_kv_heads;
            const long long at = (long long) slot * kv_width
                    + (long long) (head - num_heads - (is_k ? 0 : num_kv_heads)) * head_dim + d;
            elem_t* dst = is_k ? k_cache : v_cache;
            dst[at] = from_float(x0);
            dst[at + 1] = from_float(x1);
        }
    }
}
