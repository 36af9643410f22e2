// Attention over the paged KV cache, for packed variable-length chunks (prefill, chunked prefill, decode).
//
// A "row" is one (token, query head) pair. A block works on a tile of ROWS rows of one sequence that share
// one KV head (GQA: the group of query heads of that KV head, for one or more consecutive tokens), streams the
// sequence's keys and values through shared memory KEYS at a time, and keeps an online softmax per row
// (flash attention on CUDA cores). Causality: the row of the token at position p sees keys 0..p, which the
// kv_cache_write kernel has stored before this kernel runs, so a chunk also sees the cached prefix.
//
// Split-K ("flash decoding"): with num_splits > 1, grid.z cuts each sequence's keys into ranges; every block
// writes an unnormalised partial (acc, max, sum), and the last of a tile's splits to finish merges them (counted in
// split_counters, zeroed, one per (work item, kv head)); with split_counters null, attention_combine does. Decode
// uses it so that a small batch still fills the GPU.
//
// Also here: decode_attention, the same function for steps of one token per sequence with a block per GQA group
// (below), and the dense path for one long prompt (cuBLAS GEMMs around causal_softmax, at the end).
#include "common.cuh"

#define WARPS 4
#define ROWS_PER_WARP 4
#define ROWS (WARPS * ROWS_PER_WARP)
#define KEYS 32
#define DIMS_PER_LANE 4   // head_dim <= 128
#define KPAD 4            // K tile row padding: rows stay 16-byte aligned and lane j's float4 reads hit distinct banks

#define MAX_SPLITS 16  // LaunchGeometry.MAX_SPLITS: a warp holds one split per lane when merging
#define Q_LOADS (ROWS * DIMS_PER_LANE * 32 / 4 / (WARPS * 32))   // float4 loads per thread for a q tile
#define KV_LOADS (KEYS * DIMS_PER_LANE * 32 / VEC / (WARPS * 32))  // 16-byte loads per thread (K and V each) per tile

// out[row] from the split-K partials of one row, by one warp: lane s holds split s's (max, sum), lane i head dims
// 4i .. 4i + 3 (head_dim is a multiple of 8, at most 128). The partials are loaded eight splits at a time, a batch's
// loads all issued before the first is used (a memory latency per eight splits, not per split).
// load_cg: the partials were written by other blocks of this grid (ordered by the caller's fence), so past L1.
// Small on purpose: it runs in one block per (sequence, KV head) per step, so its code is rarely in the instruction
// cache; fetching it took ~7 µs a launch while it was unrolled over every split and head dim (28 KB of SASS). Not
// inlined: paged_attention keeps its own register allocation (inlined, this spilled in its main loop).
#define COMBINE_BATCH 8
__device__ __noinline__ void combine_row(const float* part_acc, const float* part_ml, elem_t* out, long long row,
                                            int num_splits, int head_dim, int lane) {
    const float* ml = part_ml + row * num_splits * 2;
    const float* acc = part_acc + row * num_splits * head_dim + 4 * lane;
    const bool has_dims = 4 * lane < head_dim;
    float ms = NEG_INF, ls = 0.f;
    if (lane < num_splits) {
        ms = load_cg(ml + 2 * lane);
        ls = load_cg(ml + 2 * lane + 1);
    }
    float4 o = float4{0.f, 0.f, 0.f, 0.f};
    float w = 0.f, inv = 0.f;
    for (int s0 = 0; s0 < num_splits; s0 += COMBINE_BATCH) {
        float4 a[COMBINE_BATCH];
#pragma unroll
        for (int s = 0; s < COMBINE_BATCH; s++) {
            a[s] = s0 + s < num_splits && has_dims ? load_cg4(acc + (s0 + s) * head_dim) : float4{0.f, 0.f, 0.f, 0.f};
        }
        if (s0 == 0) {   // the weights, once the first batch's loads are on their way
            if (!(ls > 0.f)) ms = NEG_INF;   // a split that saw no key
            const float m = warp_max(ms);
            w = ms == NEG_INF ? 0.f : expf(ms - m);
            const float total = warp_sum(w * ls);
            inv = total > 0.f ? 1.f / total : 0.f;
        }
#pragma unroll
        for (int s = 0; s < COMBINE_BATCH; s++) {
            const float ws = __shfl_sync(0xffffffffu, w, s0 + s);   // 0 past the last split
            o.x += ws * a[s].x;
            o.y += ws * a[s].y;
            o.z += ws * a[s].z;
            o.w += ws * a[s].w;
        }
    }
    const float r[4] = {o.x * inv, o.y * inv, o.z * inv, o.w * inv};
    if (has_dims) store4(out + row * head_dim + 4 * lane, r);
}

// Whether this block is the last of the num_splits blocks counted in *counter to have written its partials; that
// one then sees every split's partials, and resets the counter for the next step (graph replays reuse it).
__device__ __forceinline__ bool last_split_arrives(int* counter, int num_splits) {
    __shared__ bool last;
    __threadfence();   // this block's partials are visible to the block that merges them
    __syncthreads();
    if (threadIdx.x == 0) {
        last = atomicAdd(counter, 1) == num_splits - 1;
        if (last) *counter = 0;
    }
    __syncthreads();
    if (last) __threadfence();
    return last;
}

// Raw 16-byte pieces of key tile rows, fetched into registers one tile ahead of their use (the loads of the next
// tile are in flight while this one is computed).
struct KvTileLoads {
    uint4 k[KV_LOADS], v[KV_LOADS];
};

// Issues the loads of keys k0 .. k0 + KEYS - 1 (zeros at and past k_end): block-table entries first, then the cache
// rows, so that each kind is in flight all at once.
__device__ __forceinline__ void fetch_kv_tile(KvTileLoads& t, const elem_t* k_cache, const elem_t* v_cache,
                                              const int* table, int k0, int k_end, int kv_head, int num_kv_heads,
                                              int D, int block_size) {
    const int vecs_per_key = D / VEC;
    int block[KV_LOADS];
#pragma unroll
    for (int it = 0; it < KV_LOADS; it++) {
        const int i = threadIdx.x + it * WARPS * 32, pos = k0 + i / vecs_per_key;
        block[it] = i < KEYS * vecs_per_key && pos < k_end ? table[pos / block_size] : -1;
    }
#pragma unroll
    for (int it = 0; it < KV_LOADS; it++) {
        const int i = threadIdx.x + it * WARPS * 32, j = i / vecs_per_key, pos = k0 + j;
        t.k[it] = t.v[it] = uint4{0u, 0u, 0u, 0u};
        if (block[it] >= 0) {
            const long long slot = (long long) block[it] * block_size + pos % block_size;
            const long long off = (slot * num_kv_heads + kv_head) * D + (i - j * vecs_per_key) * VEC;
            t.k[it] = *reinterpret_cast<const uint4*>(k_cache + off);
            t.v[it] = *reinterpret_cast<const uint4*>(v_cache + off);
        }
    }
}

// grid: (work items, num_kv_heads, num_splits); block: 128 threads;
// dynamic shared memory: (KEYS * (head_dim + KPAD) + KEYS * head_dim + ROWS * head_dim) floats.
// work[2w] = sequence, work[2w + 1] = tile index within that sequence's rows (row f = token * group + head).
extern "C" __global__ void __launch_bounds__(WARPS * 32) paged_attention(
        const float* qkv, const elem_t* k_cache, const elem_t* v_cache,
        const int* block_tables, const int* seq_starts, const int* positions, const int* work,
        elem_t* out, float* part_acc, float* part_ml, int* split_counters,
        int num_heads, int num_kv_heads, int head_dim, int block_size, int max_blocks_per_seq,
        int num_splits, float scale) {
    follow_previous_kernel();
    DYNAMIC_SHARED(float4, smem4);   // float4: 16-byte aligned for the vector reads below
    float* smem = reinterpret_cast<float*>(smem4);
    const int D = head_dim;
    float* k_tile = smem;                       // KEYS x (D + KPAD)
    float* v_tile = k_tile + KEYS * (D + KPAD); // KEYS x D
    float* q_tile = v_tile + KEYS * D;          // ROWS x D

    const int group = num_heads / num_kv_heads;
    const int seq = work[2 * blockIdx.x], tile = work[2 * blockIdx.x + 1];
    const int kv_head = blockIdx.y, split = blockIdx.z;
    const int tok0 = seq_starts[seq];
    const int seq_rows = (seq_starts[seq + 1] - tok0) * group;
    const int first_row = tile * ROWS;
    if (first_row >= seq_rows) return;   // whole block leaves together
    const int qkv_stride = (num_heads + 2 * num_kv_heads) * D;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;

    // The tile's q rows, 4 floats at a time: every load issued before the first store.
    const int d4 = D / 4;
    float4 qv[Q_LOADS];
#pragma unroll
    for (int it = 0; it < Q_LOADS; it++) {
        const int i = threadIdx.x + it * WARPS * 32, r = i / d4, f = first_row + r;
        qv[it] = float4{0.f, 0.f, 0.f, 0.f};
        if (i < ROWS * d4 && f < seq_rows) {
            const int t = tok0 + f / group, h = kv_head * group + f % group;
            qv[it] = *reinterpret_cast<const float4*>(qkv + (long long) t * qkv_stride + h * D + (i - r * d4) * 4);
        }
    }
#pragma unroll
    for (int it = 0; it < Q_LOADS; it++) {
        const int i = threadIdx.x + it * WARPS * 32;
        if (i < ROWS * d4) reinterpret_cast<float4*>(q_tile)[i] = qv[it];
    }

    // Keys visible to each of this warp's rows (0 for rows past the sequence's end).
    int visible[ROWS_PER_WARP];
    for (int j = 0; j < ROWS_PER_WARP; j++) {
        const int f = first_row + warp * ROWS_PER_WARP + j;
        visible[j] = f < seq_rows ? positions[tok0 + f / group] + 1 : 0;
    }
    const int last_row = imin(first_row + ROWS, seq_rows) - 1;
    const int tile_keys = positions[tok0 + last_row / group] + 1;   // positions grow within a sequence
    const int per_split = ((tile_keys + num_splits - 1) / num_splits + KEYS - 1) / KEYS * KEYS;
    const int k_begin = split * per_split;
    const int k_end = imin(tile_keys, k_begin + per_split);
    const int* table = block_tables + (long long) seq * max_blocks_per_seq;

    float m[ROWS_PER_WARP], l[ROWS_PER_WARP], acc[ROWS_PER_WARP][DIMS_PER_LANE];
    for (int j = 0; j < ROWS_PER_WARP; j++) {
        m[j] = NEG_INF;
        l[j] = 0.f;
        for (int e = 0; e < DIMS_PER_LANE; e++) acc[j][e] = 0.f;
    }

    KvTileLoads loads;
    if (k_begin < k_end) {
        fetch_kv_tile(loads, k_cache, v_cache, table, k_begin, k_end, kv_head, num_kv_heads, D, block_size);
    }
    for (int k0 = k_begin; k0 < k_end; k0 += KEYS) {
        __syncthreads();   // the previous tile (and, first time round, q_tile) is no longer read
        const int vecs_per_key = D / VEC;
#pragma unroll
        for (int it = 0; it < KV_LOADS; it++) {
            const int i = threadIdx.x + it * WARPS * 32, j = i / vecs_per_key, d = (i - j * vecs_per_key) * VEC;
            if (i >= KEYS * vecs_per_key) continue;
            float kv[VEC], vv[VEC];
            unpack16(loads.k[it], kv);
            unpack16(loads.v[it], vv);
            for (int e = 0; e < VEC; e++) {
                k_tile[j * (D + KPAD) + d + e] = kv[e];
                v_tile[j * D + d + e] = vv[e];
            }
        }
        __syncthreads();
        if (k0 + KEYS < k_end) {
            fetch_kv_tile(loads, k_cache, v_cache, table, k0 + KEYS, k_end, kv_head, num_kv_heads, D, block_size);
        }

        // Scores of this lane's key against each of the warp's rows.
        const int key = k0 + lane;
        float s[ROWS_PER_WARP];
        for (int j = 0; j < ROWS_PER_WARP; j++) s[j] = 0.f;
        const float* krow = k_tile + lane * (D + KPAD);
        const float* qrows = q_tile + warp * ROWS_PER_WARP * D;
        for (int d = 0; d < D; d += 4) {
            const float4 k4 = *reinterpret_cast<const float4*>(krow + d);
            for (int j = 0; j < ROWS_PER_WARP; j++) {
                const float4 q4 = *reinterpret_cast<const float4*>(qrows + j * D + d);
                s[j] += q4.x * k4.x;
                s[j] += q4.y * k4.y;
                s[j] += q4.z * k4.z;
                s[j] += q4.w * k4.w;
            }
        }

        float p[ROWS_PER_WARP];
        for (int j = 0; j < ROWS_PER_WARP; j++) {
            const float score = (key < k_end && key < visible[j]) ? s[j] * scale : NEG_INF;
            const float m_new = fmaxf(m[j], warp_max(score));
            const bool none = m_new == NEG_INF;   // nothing visible yet: keep everything at zero
            p[j] = none ? 0.f : expf(score - m_new);
            const float correction = none ? 1.f : expf(m[j] - m_new);
            l[j] = l[j] * correction + warp_sum(p[j]);
            for (int e = 0; e < DIMS_PER_LANE; e++) acc[j][e] *= correction;
            m[j] = m_new;
        }

        for (int jj = 0; jj < KEYS; jj++) {
            float v[DIMS_PER_LANE];
            for (int e = 0; e < DIMS_PER_LANE; e++) {
                const int d = lane + 32 * e;
                v[e] = d < D ? v_tile[jj * D + d] : 0.f;
            }
            for (int j = 0; j < ROWS_PER_WARP; j++) {
                const float pj = __shfl_sync(0xffffffffu, p[j], jj);
                for (int e = 0; e < DIMS_PER_LANE; e++) acc[j][e] += pj * v[e];
            }
        }
    }

    for (int j = 0; j < ROWS_PER_WARP; j++) {
        const int f = first_row + warp * ROWS_PER_WARP + j;
        if (f >= seq_rows) continue;
        const long long row = (long long) (tok0 + f / group) * num_heads + kv_head * group + f % group;
        if (num_splits == 1) {
            const float inv = l[j] > 0.f ? 1.f / l[j] : 0.f;
            for (int e = 0; e < DIMS_PER_LANE; e++) {
                const int d = lane + 32 * e;
                if (d < D) out[row * D + d] = from_float(acc[j][e] * inv);
            }
        } else {
            const long long part = row * num_splits + split;
            for (int e = 0; e < DIMS_PER_LANE; e++) {
                const int d = lane + 32 * e;
                if (d < D) part_acc[part * D + d] = acc[j][e];
            }
            if (lane == 0) {
                part_ml[2 * part] = m[j];
                part_ml[2 * part + 1] = l[j];
            }
        }
    }
    if (num_splits == 1 || split_counters == 0) return;

    // The last split of this (tile, kv head) to finish merges the partials of the tile's rows (no combine launch).
    if (!last_split_arrives(split_counters + blockIdx.x * gridDim.y + blockIdx.y, num_splits)) return;
    for (int r = warp; r < ROWS; r += WARPS) {   // the tile's rows spread over all warps (a GQA group may be 4 rows)
        const int f = first_row + r;
        if (f >= seq_rows) break;
        const long long row = (long long) (tok0 + f / group) * num_heads + kv_head * group + f % group;
        combine_row(part_acc, part_ml, out, row, num_splits, D, lane);
    }
}

// Merges the split-K partials of paged_attention, a warp per row. grid: ceil(rows / 4) (rows = tokens * num_heads);
// block: 128 threads.
extern "C" __global__ void attention_combine(const float* part_acc, const float* part_ml, elem_t* out, int rows,
                                             int num_splits, int head_dim) {
    follow_previous_kernel();
    const long long row = (long long) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row < rows) combine_row(part_acc, part_ml, out, row, num_splits, head_dim, threadIdx.x & 31);
}

// ---- Decode: one token per sequence ----
// decode_attention computes what paged_attention does, for steps in which every sequence has one token. A block
// holds a whole GQA group (the query heads of one KV head) and spreads the keys over all of its threads, where
// paged_attention's 16-row tiles would hold the group in one warp and leave the others idle. The keys before the
// new token were cached by earlier steps, so the block starts copying them into shared memory (cp.async) before it
// waits for the kernel ahead (under programmatic dependent launch that copy overlaps the qkv projection's end);
// only q and the new token's key and value wait for it.
//
// A split's keys go through shared memory chunk_keys at a time (LaunchGeometry.decodeChunkKeys). Per chunk: the
// scores, four threads per key (each on every fourth 16-byte piece of the head dims, summed by shuffles); the online
// softmax of each row by one warp; then p v with a lane per 4 head dims. The block has 4 to 16 warps (its launch's
// block size; GlmKernels.decodeWarps gives a warp per query head, at least 4): with more warps than rows, a row's
// p v is shared by `wpr` warps, each over every wpr-th key, and their sums are added in shared memory at the end;
// with fewer, a warp holds up to four rows (decode_attention_wide; decode_attention holds groups of up to 4 at 4
// warps). With num_splits > 1 the last split of a (sequence, kv head) to finish
// merges the partials, as paged_attention.
#define DA_MAX_WARPS 16
#define DA_MIN_WARPS 4
#define DA_MAX_GROUP 16   // LaunchGeometry.DECODE_MAX_GROUP: query heads per KV head
#define DA_KEY_THREADS 4  // threads per key when scoring

// 16-byte pieces per K row in shared memory: `pieces` padded to 4 more than a multiple of 8, so that the two keys a
// quarter-warp reads at once (four pieces each) start 4 banks of 16 bytes apart.
__device__ __forceinline__ int decode_k_stride(int pieces) {
    return pieces + ((DA_KEY_THREADS - pieces) % 8 + 8) % 8;
}

// Starts the copies (cp.async) of chunk keys first .. first + count - 1, whose cache slots are in slot[], into the
// chunk's K and V rows.
__device__ __forceinline__ void copy_chunk_keys(uint4* k_rows, uint4* v_rows, const int* slot, const elem_t* k_cache,
                                                const elem_t* v_cache, int first, int count, int pieces,
                                                int k_stride, int kv_head, int num_kv_heads, int D) {
    for (int i = threadIdx.x; i < count * pieces; i += blockDim.x) {
        const int j = first + i / pieces, u = i % pieces;
        const long long at = ((long long) slot[j] * num_kv_heads + kv_head) * D + u * VEC;
        cp_async16(k_rows + j * k_stride + u, k_cache + at);
        cp_async16(v_rows + j * pieces + u, v_cache + at);
    }
}

// grid: (sequences, num_kv_heads, num_splits); block: 32 x 4..16 threads; dynamic shared memory (LaunchGeometry.
// decodeSharedBytes): chunk_keys K rows (padded) and V rows as stored, q [group, D] and scores [group, chunk_keys]
// in fp32, the p v sums of a row's warps [group, wpr, D] in fp32, the rows' rescaling [group], chunk_keys slots.
// Sequence s's token is seq_starts[s] (a padding sequence has none).
#define DECODE_ATTENTION_PARAMS                                                                                  \
        const float *qkv, const elem_t *k_cache, const elem_t *v_cache, const int *block_tables,                 \
        const int *seq_starts, const int *positions, elem_t *out, float *part_acc, float *part_ml,               \
        int *split_counters, int num_heads, int num_kv_heads, int head_dim, int block_size, int max_blocks_per_seq, \
        int num_splits, int chunk_keys, float scale
#define DECODE_ATTENTION_ARGS                                                                                    \
        qkv, k_cache, v_cache, block_tables, seq_starts, positions, out, part_acc, part_ml, split_counters,      \
        num_heads, num_kv_heads, head_dim, block_size, max_blocks_per_seq, num_splits, chunk_keys, scale
// G: the most query heads per KV head the instance holds (4 or DA_MAX_GROUP): its loops over a group's rows are
// unrolled to G, and a smaller G keeps the code that the GPU fetches per launch small.
template <int G>
__device__ __forceinline__ void decode_attention_block(DECODE_ATTENTION_PARAMS) {
    constexpr int ROWS_PER_WARP_MAX = G / DA_MIN_WARPS;
    trace_mark(TRACE_ATTENTION, 0);
    const int seq = blockIdx.x, kv_head = blockIdx.y, split = blockIdx.z;
    const int tok = seq_starts[seq];
    if (seq_starts[seq + 1] == tok) return;   // a padding sequence: the whole block leaves
    const int D = head_dim, group = num_heads / num_kv_heads, C = chunk_keys;
    const int pieces = D / VEC, k_stride = decode_k_stride(pieces);
    const int pos = positions[tok], keys = pos + 1;
    const int per_split = (keys + num_splits - 1) / num_splits;
    const int k_begin = split * per_split, k_end = imin(keys, k_begin + per_split);
    const int* table = block_tables + (long long) seq * max_blocks_per_seq;
    const int warps = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    // This warp's rows are first_row + row_step * r; in p v it takes keys slice, slice + wpr, ... of each chunk.
    // Warp `slice == 0` of a row also keeps its softmax (m, l) and writes the result.
    const int wpr = warps > group ? warps / group : 1, row_step = warps / wpr;
    const int slice = warp % wpr, first_row = warp / wpr;

    DYNAMIC_SHARED(uint4, decode_smem);
    uint4* k_rows = decode_smem;                                // C x k_stride pieces
    uint4* v_rows = k_rows + C * k_stride;                      // C x pieces
    float* q = reinterpret_cast<float*>(v_rows + C * pieces);   // group x D
    float* scores = q + group * D;                              // group x C: scores, then probabilities
    float* sums = scores + group * C;                           // group x wpr x D (only with wpr > 1), 16-aligned
    float* rescale = sums + (wpr > 1 ? group * wpr * D : 0);    // group: each row's correction for this chunk
    int* slot = reinterpret_cast<int*>(rescale + group);        // C

    // (lane holds head dims 4 lane .. 4 lane + 3 of each row)
    float m[ROWS_PER_WARP_MAX], l[ROWS_PER_WARP_MAX], acc[ROWS_PER_WARP_MAX][4];
#pragma unroll
    for (int r = 0; r < ROWS_PER_WARP_MAX; r++) {
        m[r] = NEG_INF;
        l[r] = 0.f;
#pragma unroll
        for (int e = 0; e < 4; e++) acc[r][e] = 0.f;
    }
    const int d = 4 * lane;

    bool waited = false;
    for (int c0 = k_begin; c0 < k_end; c0 += C) {
        const int n = imin(C, k_end - c0);
        __syncthreads();   // the previous chunk is no longer read
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            const int key = c0 + j;
            slot[j] = table[key / block_size] * block_size + key % block_size;
        }
        __syncthreads();
        // Keys before the new token are settled (the kernel ahead writes only the new token's): copied at once.
        const int settled = waited ? n : imin(n, pos - c0);
        copy_chunk_keys(k_rows, v_rows, slot, k_cache, v_cache, 0, settled, pieces, k_stride, kv_head, num_kv_heads, D);
        if (!waited) {
            follow_previous_kernel();
            trace_mark(TRACE_ATTENTION, 1);
            waited = true;
            const float* q_src = qkv + (long long) tok * (num_heads + 2 * num_kv_heads) * D + kv_head * group * D;
            for (int i = threadIdx.x; i < group * D / 4; i += blockDim.x) {
                cp_async16(q + 4 * i, q_src + 4 * i);   // the group's q rows are contiguous in qkv
            }
        }
        copy_chunk_keys(k_rows, v_rows, slot, k_cache, v_cache, settled, n - settled, pieces, k_stride, kv_head,
                        num_kv_heads, D);
        cp_async_commit();
        cp_async_wait<0>();
        __syncthreads();
        trace_mark(TRACE_ATTENTION, 2);

        // Scores: thread t scores key (pass + t / 4) against every row, over pieces t % 4, t % 4 + 4, ...
        const int h = threadIdx.x % DA_KEY_THREADS;
        for (int j0 = 0; j0 < n; j0 += blockDim.x / DA_KEY_THREADS) {
            const int j = j0 + threadIdx.x / DA_KEY_THREADS;
            float s[G];
#pragma unroll
            for (int r = 0; r < G; r++) s[r] = 0.f;
            if (j < n) {
                for (int u = h; u < pieces; u += DA_KEY_THREADS) {
                    float kf[VEC];
                    unpack16(k_rows[j * k_stride + u], kf);
#pragma unroll
                    for (int r = 0; r < G; r++) {
                        if (r >= group) break;
                        const float* qr = q + r * D + u * VEC;
#pragma unroll
                        for (int e = 0; e < VEC; e += 4) {
                            const float4 q4 = *reinterpret_cast<const float4*>(qr + e);
                            s[r] += q4.x * kf[e] + q4.y * kf[e + 1] + q4.z * kf[e + 2] + q4.w * kf[e + 3];
                        }
                    }
                }
            }
#pragma unroll
            for (int r = 0; r < G; r++) {
                if (r >= group) break;
                s[r] += __shfl_xor_sync(0xffffffffu, s[r], 1);
                s[r] += __shfl_xor_sync(0xffffffffu, s[r], 2);
                if (j < n && r % DA_KEY_THREADS == h) scores[r * C + j] = s[r] * scale;
            }
        }
        __syncthreads();
        trace_mark(TRACE_ATTENTION, 3);

        // Each row's online softmax over the chunk's scores, by the row's first warp.
        if (slice == 0) {
#pragma unroll
            for (int r = 0; r < ROWS_PER_WARP_MAX; r++) {
                const int row = first_row + row_step * r;
                if (row >= group) break;
                float* p = scores + row * C;
                float chunk_max = NEG_INF;
                for (int j = lane; j < n; j += 32) chunk_max = fmaxf(chunk_max, p[j]);
                const float m_new = fmaxf(m[r], warp_max(chunk_max));   // finite: the chunk has keys
                const float correction = expf(m[r] - m_new);             // 0 for the first chunk (m = -inf)
                float sum = 0.f;
                for (int j = lane; j < n; j += 32) {
                    const float e = expf(p[j] - m_new);
                    p[j] = e;
                    sum += e;
                }
                l[r] = l[r] * correction + warp_sum(sum);
                m[r] = m_new;
                if (lane == 0) rescale[row] = correction;
            }
        }
        __syncthreads();   // a row's probabilities and correction are read by all of its warps
        trace_mark(TRACE_ATTENTION, 4);

        // p v: this warp's keys of the chunk, for each of its rows.
#pragma unroll
        for (int r = 0; r < ROWS_PER_WARP_MAX; r++) {
            const int row = first_row + row_step * r;
            if (row >= group) break;
            const float correction = rescale[row];
#pragma unroll
            for (int e = 0; e < 4; e++) acc[r][e] *= correction;
        }
        if (d < D) {
            const elem_t* v_base = reinterpret_cast<const elem_t*>(v_rows) + d;
#pragma unroll 4
            for (int j = slice; j < n; j += wpr) {
                float v[4];
                load4(v_base + j * D, v);
#pragma unroll
                for (int r = 0; r < ROWS_PER_WARP_MAX; r++) {
                    const int row = first_row + row_step * r;
                    if (row >= group) break;
                    const float pj = scores[row * C + j];
#pragma unroll
                    for (int e = 0; e < 4; e++) acc[r][e] += pj * v[e];
                }
            }
        }
    }
    if (!waited) follow_previous_kernel();   // a split without keys still writes its (empty) partial after it
    trace_mark(TRACE_ATTENTION, 5);

    if (wpr > 1) {   // each row's warps add their sums into its first warp's
        if (first_row < group && d < D) {
            *reinterpret_cast<float4*>(sums + (first_row * wpr + slice) * D + d) =
                    float4{acc[0][0], acc[0][1], acc[0][2], acc[0][3]};
        }
        __syncthreads();
        if (slice == 0 && first_row < group && d < D) {
            for (int t = 1; t < wpr; t++) {
                const float4 o = *reinterpret_cast<const float4*>(sums + (first_row * wpr + t) * D + d);
                acc[0][0] += o.x;
                acc[0][1] += o.y;
                acc[0][2] += o.z;
                acc[0][3] += o.w;
            }
        }
    }

    if (slice == 0) {
#pragma unroll
        for (int r = 0; r < ROWS_PER_WARP_MAX; r++) {
            const int row = first_row + row_step * r;
            if (row >= group) break;
            const long long out_row = (long long) tok * num_heads + kv_head * group + row;
            if (num_splits == 1) {
                const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
                float o[4];
#pragma unroll
                for (int e = 0; e < 4; e++) o[e] = acc[r][e] * inv;
                if (d < D) store4(out + out_row * D + d, o);
            } else {
                const long long part = out_row * num_splits + split;
                if (d < D) {
                    *reinterpret_cast<float4*>(part_acc + part * D + d) =
                            float4{acc[r][0], acc[r][1], acc[r][2], acc[r][3]};
                }
                if (lane == 0) {
                    part_ml[2 * part] = m[r];
                    part_ml[2 * part + 1] = l[r];
                }
            }
        }
    }
    if (num_splits == 1) {
        trace_mark(TRACE_ATTENTION, 7);
        return;
    }
    const bool last = last_split_arrives(split_counters + seq * gridDim.y + kv_head, num_splits);
    trace_mark(TRACE_ATTENTION, 6);
    if (last) {
        for (int row = warp; row < group; row += warps) {
            combine_row(part_acc, part_ml, out, (long long) tok * num_heads + kv_head * group + row, num_splits, D,
                        lane);
        }
    }
    trace_mark(TRACE_ATTENTION, 7);
}

// The kernel for groups of up to 4 at 4 warps per block, in at most 96 registers a thread: a block then fits beside
// two GEMV blocks on an SM (104 registers x 256 threads each), so it can start, and fetch its keys, while the qkv
// projection runs. And for any group at 4 to 16 warps (GlmKernels picks by group and warps).
extern "C" __global__ void __launch_bounds__(DA_MIN_WARPS * 32, 5) decode_attention(DECODE_ATTENTION_PARAMS) {
    decode_attention_block<DA_MIN_WARPS>(DECODE_ATTENTION_ARGS);
}

extern "C" __global__ void __launch_bounds__(DA_MAX_WARPS * 32) decode_attention_wide(DECODE_ATTENTION_PARAMS) {
    decode_attention_block<DA_MAX_GROUP>(DECODE_ATTENTION_ARGS);
}

// ---- Dense causal attention for one long prompt on tensor cores (the GEMMs run in cuBLAS) ----
// For a single sequence starting at position 0, scores = q kᵀ per head (cuBLAS, batched), then this softmax, then
// probs v (cuBLAS): the quadratic work runs on tensor cores instead of CUDA cores.

// qkv rows [tokens, (heads + 2 kv_heads) * D] -> q [heads, tokens, D], k and v [kv_heads, tokens, D].
extern "C" __global__ void repack_qkv_heads(const float* qkv, elem_t* q, elem_t* k, elem_t* v, int tokens,
                                           int num_heads, int num_kv_heads, int head_dim) {
    follow_previous_kernel();
    const int width = (num_heads + 2 * num_kv_heads) * head_dim;
    const long long n = (long long) tokens * width;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        const int t = (int) (i / width), c = (int) (i - (long long) t * width);
        const int head = c / head_dim, d = c - head * head_dim;
        const elem_t x = from_float(qkv[i]);
        if (head < num_heads) {
            q[((long long) head * tokens + t) * head_dim + d] = x;
        } else if (head < num_heads + num_kv_heads) {
            k[((long long) (head - num_heads) * tokens + t) * head_dim + d] = x;
        } else {
            v[((long long) (head - num_heads - num_kv_heads) * tokens + t) * head_dim + d] = x;
        }
    }
}

// Row r = (head, query q) of scores [heads * tokens, tokens]: probs = softmax(scores * scale) over keys 0..q, zero
// after q. grid: heads * tokens; block: up to 1024 threads.
extern "C" __global__ void causal_softmax(const float* scores, elem_t* probs, int tokens, float scale) {
    follow_previous_kernel();
    __shared__ float scratch[32];
    const long long row = blockIdx.x;
    const int q = (int) (row % tokens);
    const float* s = scores + row * tokens;
    elem_t* p = probs + row * tokens;
    float mx = NEG_INF;
    for (int k = threadIdx.x; k <= q; k += blockDim.x) mx = fmaxf(mx, s[k] * scale);
    mx = block_max(mx, scratch);
    float sum = 0.f;
    for (int k = threadIdx.x; k <= q; k += blockDim.x) sum += expf(s[k] * scale - mx);
    sum = block_sum(sum, scratch);
    const float inv = 1.f / sum;
    for (int k = threadIdx.x; k < tokens; k += blockDim.x) {
        p[k] = from_float(k <= q ? expf(s[k] * scale - mx) * inv : 0.f);
    }
}
