// Causal attention of prefill chunks on tensor cores, flash-attention style (packed variable-length chunks, each
// over its cached prefix, as paged_attention; decode steps keep paged_attention's split-K):
// q kᵀ, the online softmax and p v for a tile of query rows stay in registers, so no tokens × tokens score matrix
// is ever written (the cuBLAS path of attention.cu writes and rereads one per head). Compiled for bf16 on sm_80+
// only (KernelSources.TENSOR_CORE_SOURCES): mma.sync with bf16 inputs.
//
// Rows are (token, query head) pairs of one KV head, row f = token * group + head as in paged_attention, so a
// tile of FA_ROWS (128) rows shares every K/V tile it loads among the heads of the GQA group. A block is 8 warps;
// each warp owns 16 rows, the block streams keys 0..(last visible) through shared memory 64 at a time,
// double-buffered: the next tile's copies (cp.async) are in flight while this one is multiplied. Fragments of K and V come from shared
// memory through ldmatrix; the softmax works in base 2 (exp2 of scores pre-scaled by log2 e).
#include "common.cuh"

#define FA_WARPS 8   // 128 rows per block: each K/V tile fetched from L2 serves twice the rows of 4 warps
#define FA_ROWS (FA_WARPS * 16)
#define FA_KEYS 64
#ifndef FA_MIN_BLOCKS   // (--cuda-option define=FA_MIN_BLOCKS=2 to try another)
#define FA_MIN_BLOCKS 1    // blocks per SM the registers must allow: 1 leaves the fragments all the registers they need
#endif
#define FA_PAD 8   // bf16 of padding per shared row: rows stay 16-byte aligned and fragment loads hit distinct banks

#define LOG2E 1.4426950408889634f

__device__ __forceinline__ unsigned int pack_bf16(float lo, float hi) {
    return (unsigned int) from_float(lo) | ((unsigned int) from_float(hi) << 16);
}

// Starts the copies of keys k0 .. k0 + FA_KEYS - 1 into a K and a V tile (zeros past the last key: their scores are
// masked, but 0 · garbage in p v could be NaN) and closes them as one cp.async group.
template <int D>
__device__ __forceinline__ void fetch_kv_tiles(elem_t* k_tile, elem_t* v_tile, const elem_t* k_cache,
                                               const elem_t* v_cache, const int* block_table, int k0, int keys,
                                               int kv_head, int num_kv_heads, int block_size) {
    constexpr int stride = D + FA_PAD, chunks = D / 8;   // 16-byte pieces of a cache row
    for (int i = threadIdx.x; i < FA_KEYS * chunks; i += FA_WARPS * 32) {
        const int j = i / chunks, d = (i - j * chunks) * 8, key = k0 + j;
        elem_t* k_dst = k_tile + j * stride + d;
        elem_t* v_dst = v_tile + j * stride + d;
        if (key < keys) {
            const long long slot = (long long) block_table[key / block_size] * block_size + key % block_size;
            const long long at = (slot * num_kv_heads + kv_head) * D + d;
            cp_async16(k_dst, k_cache + at);
            cp_async16(v_dst, v_cache + at);
        } else {
            *reinterpret_cast<uint4*>(k_dst) = uint4{0u, 0u, 0u, 0u};
            *reinterpret_cast<uint4*>(v_dst) = uint4{0u, 0u, 0u, 0u};
        }
    }
    cp_async_commit();
}

// q from qkv rows [tokens, (heads + 2 kv_heads) * D] fp32 (biases and rotary applied); k and v from the paged
// cache (bias_rope_kv_write has stored the chunk's own), [num_blocks, block_size, num_kv_heads, D], through each
// sequence's block table; out [tokens, heads * D]. work[2b] = sequence, work[2b + 1] = tile of FA_ROWS rows.
// grid: (flash work items, num_kv_heads); block: FA_WARPS * 32 threads; dynamic shared memory: 2 stages of K and V
// tiles, 4 * FA_KEYS * (D + FA_PAD) bf16. D is a template parameter so that every loop over it unrolls and the
// fragments stay in registers; the extern "C" kernels below instantiate the head sizes we serve.
template <int D>
__device__ __forceinline__ void flash_prefill(
        const float* qkv, const elem_t* k_cache, const elem_t* v_cache, const int* block_tables,
        const int* seq_starts, const int* positions, const int* work, elem_t* out, int num_heads, int num_kv_heads,
        int block_size, int max_blocks_per_seq, float scale) {
    follow_previous_kernel();
    DYNAMIC_SHARED(uint4, flash_smem);
    constexpr int stride = D + FA_PAD, tile_elems = FA_KEYS * stride;
    elem_t* tiles = reinterpret_cast<elem_t*>(flash_smem);   // stage s: K at 2s, V at 2s + 1 (tile_elems each)
    const int group = num_heads / num_kv_heads, kv_head = blockIdx.y;
    const int width = (num_heads + 2 * num_kv_heads) * D;
    // Last work item first: a prompt's last tiles see the most keys, and starting them first shortens the tail.
    const int item = gridDim.x - 1 - blockIdx.x;
    const int seq = work[2 * item], tile = work[2 * item + 1];
    const int tok0 = seq_starts[seq];
    const int rows = (seq_starts[seq + 1] - tok0) * group;
    if (tile * FA_ROWS >= rows) return;   // whole block leaves together
    const int* block_table = block_tables + (long long) seq * max_blocks_per_seq;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = lane >> 2, t = lane & 3;   // mma fragment coordinates: row group, thread in group
    const int row0 = tile * FA_ROWS + warp * 16;
    const int keys = positions[tok0 + (imin((tile + 1) * FA_ROWS, rows) - 1) / group] + 1;   // the last row's view
    fetch_kv_tiles<D>(tiles, tiles + tile_elems, k_cache, v_cache, block_table, 0, keys, kv_head, num_kv_heads,
                      block_size);

    // The last key each of this thread's two rows sees (g and g + 8 of the warp's 16; -1 past the end), and the
    // warp's last row's: a row's token at position p sees keys 0..p.
    int last_key[2];
#pragma unroll
    for (int h = 0; h < 2; h++) {
        const int f = row0 + g + 8 * h;
        last_key[h] = f < rows ? positions[tok0 + f / group] : -1;
    }
    const int warp_last_key = row0 < rows ? positions[tok0 + imin(row0 + 15, rows - 1) / group] : -1;

    // q fragments (A operand, row-major 16 x D) for the warp's rows, in registers for the whole kernel.
    unsigned int qf[D / 16][4];
    #pragma unroll
    for (int ks = 0; ks < D / 16; ks++) {
        #pragma unroll
        for (int h = 0; h < 2; h++) {          // h: row g or g + 8
            #pragma unroll
            for (int c = 0; c < 2; c++) {      // c: dims 2t.. or 2t + 8..
                const int f = row0 + g + 8 * h, d = ks * 16 + 2 * t + 8 * c;
                float x0 = 0.f, x1 = 0.f;
                if (f < rows) {
                    const float* q = qkv + (long long) (tok0 + f / group) * width
                            + (kv_head * group + f % group) * D + d;
                    x0 = q[0];
                    x1 = q[1];
                }
                qf[ks][h + 2 * c] = pack_bf16(x0, x1);
            }
        }
    }

    float o[D / 8][4];
    #pragma unroll
    for (int n = 0; n < D / 8; n++) for (int i = 0; i < 4; i++) o[n][i] = 0.f;
    float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.f, 0.f};   // running max (base-2 units) and sum per row
    const float scale_log2 = scale * LOG2E;

    int stage = 0;
    for (int k0 = 0; k0 < keys; k0 += FA_KEYS, stage ^= 1) {
        if (k0 + FA_KEYS < keys) {
            elem_t* next = tiles + 2 * (stage ^ 1) * tile_elems;
            fetch_kv_tiles<D>(next, next + tile_elems, k_cache, v_cache, block_table, k0 + FA_KEYS, keys, kv_head,
                              num_kv_heads, block_size);
            cp_async_wait<1>();   // this tile's group has landed; the next one's may still be in flight
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();   // everyone's copies of this tile are visible
        const elem_t* k_tile = tiles + 2 * stage * tile_elems;
        const elem_t* v_tile = k_tile + tile_elems;
        if (k0 <= warp_last_key) {   // else no key of this tile is visible to the warp's rows
            // s = q kᵀ for 16 rows x 64 keys: 8 n-tiles of 8 keys. B[k = dim][n = key] is K's row (key) n * 8 + g:
            // ldmatrix of K's rows gives it directly; x4 covers 32 dims, x2 the last 16 when D % 32 != 0.
            float s[FA_KEYS / 8][4];
            #pragma unroll
            for (int n = 0; n < FA_KEYS / 8; n++) {
                #pragma unroll
                for (int i = 0; i < 4; i++) s[n][i] = 0.f;
                const elem_t* krow = k_tile + (n * 8 + (lane & 7)) * stride + 8 * (lane >> 3);
                #pragma unroll
                for (int kp = 0; kp < D / 32; kp++) {
                    unsigned int b[4];
                    ldmatrix_x4(b, krow + 32 * kp);
                    mma_bf16_16816(s[n], qf[2 * kp], b);
                    mma_bf16_16816(s[n], qf[2 * kp + 1], b + 2);
                }
                if (D % 32 != 0) {
                    unsigned int b[2];
                    ldmatrix_x2(b, k_tile + (n * 8 + (lane & 7)) * stride + (D - 16) + 8 * ((lane >> 3) & 1));
                    mma_bf16_16816(s[n], qf[D / 16 - 1], b);
                }
            }

            // Online softmax over this tile, per row (a row's 64 scores are spread over the 4 threads of a quad).
            float corr[2];
            #pragma unroll
            for (int h = 0; h < 2; h++) {
                float mx = NEG_INF;
                #pragma unroll
                for (int n = 0; n < FA_KEYS / 8; n++) {
                    #pragma unroll
                    for (int c = 0; c < 2; c++) {
                        const int key = k0 + n * 8 + 2 * t + c;
                        float v = key <= last_key[h] ? s[n][2 * h + c] * scale_log2 : NEG_INF;
                        s[n][2 * h + c] = v;
                        mx = fmaxf(mx, v);
                    }
                }
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                const float m_new = fmaxf(m[h], mx);
                const bool none = m_new == NEG_INF;   // nothing visible yet (or a padding row)
                corr[h] = none ? 1.f : exp2f(m[h] - m_new);
                float sum = 0.f;
                #pragma unroll
                for (int n = 0; n < FA_KEYS / 8; n++) {
                    #pragma unroll
                    for (int c = 0; c < 2; c++) {
                        const float p = none ? 0.f : exp2f(s[n][2 * h + c] - m_new);
                        s[n][2 * h + c] = p;
                        sum += p;
                    }
                }
                sum += __shfl_xor_sync(0xffffffffu, sum, 1);
                sum += __shfl_xor_sync(0xffffffffu, sum, 2);
                l[h] = l[h] * corr[h] + sum;
                m[h] = m_new;
            }
            #pragma unroll
            for (int n = 0; n < D / 8; n++) {
                o[n][0] *= corr[0];
                o[n][1] *= corr[0];
                o[n][2] *= corr[1];
                o[n][3] *= corr[1];
            }

            // o += p v: p (16 x 64) as A fragments straight from the score accumulators; B[k = key][n = dim] is a
            // column of V's tile: ldmatrix.trans of rows (keys) kk * 16 .. + 15, two n-tiles of 8 dims per x4.
            #pragma unroll
            for (int kk = 0; kk < FA_KEYS / 16; kk++) {
                unsigned int a[4];
                a[0] = pack_bf16(s[2 * kk][0], s[2 * kk][1]);
                a[1] = pack_bf16(s[2 * kk][2], s[2 * kk][3]);
                a[2] = pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
                a[3] = pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
                const elem_t* vrow = v_tile + (kk * 16 + 8 * ((lane >> 3) & 1) + (lane & 7)) * stride + 8 * (lane >> 4);
                #pragma unroll
                for (int np = 0; np < D / 16; np++) {
                    unsigned int b[4];
                    ldmatrix_x4_trans(b, vrow + 16 * np);
                    mma_bf16_16816(o[2 * np], a, b);
                    mma_bf16_16816(o[2 * np + 1], a, b + 2);
                }
            }
        }
        __syncthreads();   // nobody reads this stage any more when the next iteration's copies overwrite it
    }

    #pragma unroll
    for (int h = 0; h < 2; h++) {
        const int f = row0 + g + 8 * h;
        if (f >= rows) continue;
        const float inv = l[h] > 0.f ? 1.f / l[h] : 0.f;
        elem_t* dst = out + ((long long) (tok0 + f / group) * num_heads + kv_head * group + f % group) * D;
        #pragma unroll
        for (int n = 0; n < D / 8; n++) {
            const unsigned int pair = pack_bf16(o[n][2 * h] * inv, o[n][2 * h + 1] * inv);
            *reinterpret_cast<unsigned int*>(dst + n * 8 + 2 * t) = pair;
        }
    }
}

#define FLASH_ARGS const float* qkv, const elem_t* k_cache, const elem_t* v_cache, const int* block_tables, \
        const int* seq_starts, const int* positions, const int* work, elem_t* out, int num_heads, int num_kv_heads, \
        int block_size, int max_blocks_per_seq, float scale
#define FLASH_CALL qkv, k_cache, v_cache, block_tables, seq_starts, positions, work, out, num_heads, num_kv_heads, \
        block_size, max_blocks_per_seq, scale

// One kernel per head size (LaunchGeometry.FLASH_HEAD_DIMS).
extern "C" __global__ void __launch_bounds__(FA_WARPS * 32, FA_MIN_BLOCKS) flash_prefill_d16(FLASH_ARGS) { flash_prefill<16>(FLASH_CALL); }
extern "C" __global__ void __launch_bounds__(FA_WARPS * 32, FA_MIN_BLOCKS) flash_prefill_d32(FLASH_ARGS) { flash_prefill<32>(FLASH_CALL); }
extern "C" __global__ void __launch_bounds__(FA_WARPS * 32, FA_MIN_BLOCKS) flash_prefill_d64(FLASH_ARGS) { flash_prefill<64>(FLASH_CALL); }
extern "C" __global__ void __launch_bounds__(FA_WARPS * 32, FA_MIN_BLOCKS) flash_prefill_d96(FLASH_ARGS) { flash_prefill<96>(FLASH_CALL); }
extern "C" __global__ void __launch_bounds__(FA_WARPS * 32, FA_MIN_BLOCKS) flash_prefill_d128(FLASH_ARGS) { flash_prefill<128>(FLASH_CALL); }
