// GLM's interleaved partial rotary embedding, in place on q and k (HF glm apply_rotary_pos_emb):
// within the first rotary_dim dims of each head, pair (2i, 2i+1) turns by position * inv_freq[i];
// the remaining dims pass through.
#include "common.cuh"

// qkv rows: [q heads (num_heads * head_dim) | k heads (num_kv_heads * head_dim) | v heads].
// grid: tokens; block: any (threads stride over (q + k heads) * rotary_dim / 2 pairs).
extern "C" __global__ void rope_interleaved(float* qkv, const int* positions, const float* inv_freq,
                                            int num_heads, int num_kv_heads, int head_dim, int rotary_dim) {
    const int half = rotary_dim / 2;
    const int pairs = (num_heads + num_kv_heads) * half;
    const float pos = (float) positions[blockIdx.x];
    float* row = qkv + (long long) blockIdx.x * (num_heads + 2 * num_kv_heads) * head_dim;
    for (int p = threadIdx.x; p < pairs; p += blockDim.x) {
        const int head = p / half, i = p - head * half;   // q heads then k heads are contiguous
        float s, c;
        sincosf(pos * inv_freq[i], &s, &c);
        float* x = row + head * head_dim + 2 * i;
        const float x0 = x[0], x1 = x[1];
        x[0] = x0 * c - x1 * s;   // x * cos + rotate_half(x) * sin, rotate_half = (-x1, x0)
        x[1] = x1 * c + x0 * s;
    }
}
