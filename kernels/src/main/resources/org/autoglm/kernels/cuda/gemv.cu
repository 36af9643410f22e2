// Linear layers of a batch-1 decode step: y[o] = Σ_k x[k] · w[o][k] for one input row. This is pure weight
// streaming, so the kernel is built for bytes in flight and for starting early:
//   - a warp works through row pairs (grid-stride: the grid is at most GEMV_MIN_BLOCKS blocks per SM, so x is
//     staged once per block, not once per 16 rows) in batches of GEMV_ROWS x GEMV_UNROLL 16-byte loads per lane,
//     and the next batch's loads are in flight while this one is multiplied;
//   - where the row pairs are fewer than the warps the GPU holds at once (a narrow projection such as o_proj of a
//     small model), `parts` warps share a pair, each over a slice of the columns, and add their sums in shared
//     memory: twice the loads in flight, half the batches one after another;
//   - the first batch is loaded before the kernel waits for the one before it (programmatic dependent launch):
//     weights are no kernel's output, so under PDL their fetch overlaps the previous kernel's end.
//
// Staging can compute x, which takes the neighbouring small kernels out of the step (each launch costs more than
// its work at batch 1):
//   copy     x as given
//   silu     x = up * silu(gate) from the gate_up projection's fp32 output (instead of silu_mul)
//   rmsnorm  what add_rmsnorm does, with the same arithmetic: residual' = residual + [post-norm](delta), then
//            x = rmsnorm(residual') * weight; every block computes the whole row, block 0 stores residual' (to a
//            second buffer: the others are still reading the first) and the normalised row.
// The epilogue can too: gemv_rmsnorm_silu pairs each gate row with its up row, so that the gate_up projection
// writes the activation itself and the down projection stages a plain copy (the one-token pass).
#include "common.cuh"

#define GEMV_WARPS 8
#define GEMV_ROWS 2         // output rows per warp (a pair: gemv_rmsnorm_rope rotates (2i, 2i + 1) pairs)
#define GEMV_UNROLL 4       // 16-byte loads per row and lane in one batch
#define GEMV_MIN_BLOCKS 2   // blocks per SM the registers allow (LaunchGeometry.GEMV_BLOCKS_PER_SM)

// One batch of a warp's weight loads: the rows of pair o0, chunks c0 + 32u (16-byte pieces of a row) for this lane.
struct WeightBatch {
    uint4 v[GEMV_ROWS][GEMV_UNROLL];
};

// Row r of the pair that starts at o0 (an even index): rows o0 and o0 + 1, or with half > 0 rows o0 / 2 and
// o0 / 2 + half (the gate and up rows of one intermediate column in the fused gate_up weight).
__device__ __forceinline__ int pair_row(int o0, int r, int half) {
    return half > 0 ? o0 / 2 + r * half : o0 + r;
}

// (c_end: the end of this warp's column slice, in chunks)
__device__ __forceinline__ void load_batch(WeightBatch& b, const elem_t* w, int in, int out, int half, int o0,
                                           int c0, int c_end) {
#pragma unroll
    for (int r = 0; r < GEMV_ROWS; r++) {
        const int row = pair_row(o0, r, half);
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            const int c = c0 + 32 * u;
            b.v[r][u] = uint4{0u, 0u, 0u, 0u};
            if (row < out && c < c_end) {
                b.v[r][u] = *reinterpret_cast<const uint4*>(w + (long long) row * in + (long long) c * VEC);
            }
        }
    }
}

// A warp's walk over its row pairs and their batches. Construct it (it issues the first batch's loads) before
// waiting for the previous kernel; then run() it once x is staged. Warp w works on slice w % parts of the columns of
// pair w / parts of each of its block's passes; a pass covers GEMV_WARPS / parts row pairs, and every warp of the
// block makes the same passes and batches (the slices' batch counts are equal), so the block can meet at a barrier
// to add the slices.
struct GemvWork {
    const elem_t* w;
    int in, out, parts, half, part, base, pair_row, stride, c_begin, c_end, batches, lane;
    WeightBatch next;

    __device__ __forceinline__ GemvWork(const elem_t* w_, int in_, int out_, int parts_, int half_)
            : w(w_), in(in_), out(out_), parts(parts_), half(half_) {
        lane = threadIdx.x & 31;
        const int warp = threadIdx.x >> 5, pairs = GEMV_WARPS / parts;
        part = warp % parts;
        pair_row = warp / parts * GEMV_ROWS;
        base = blockIdx.x * pairs * GEMV_ROWS;
        stride = gridDim.x * pairs * GEMV_ROWS;
        const int chunks = in / VEC, per_part = (chunks + parts - 1) / parts;
        c_begin = part * per_part;
        c_end = imin(chunks, c_begin + per_part);
        batches = (per_part + 32 * GEMV_UNROLL - 1) / (32 * GEMV_UNROLL);
        if (base + pair_row < out) load_batch(next, w, in, out, half, base + pair_row, c_begin + lane, c_end);
    }

    // For each of the warp's row pairs, epilogue(o0, sum) with sum[r] = x · w[pair_row(o0, r, half)] in every lane
    // (of one warp).
    template <class Epilogue>
    __device__ __forceinline__ void run(const elem_t* xs, Epilogue epilogue) {
        __shared__ float slice_sums[GEMV_WARPS][GEMV_ROWS];
        float acc[GEMV_ROWS];
#pragma unroll
        for (int r = 0; r < GEMV_ROWS; r++) acc[r] = 0.f;
        int batch = 0;
        while (base < out) {
            const int o0 = base + pair_row;
            const WeightBatch cur = next;
            const int c0 = c_begin + lane + batch * 32 * GEMV_UNROLL;
            const bool last = batch == batches - 1;
            const int next_base = last ? base + stride : base, next_batch = last ? 0 : batch + 1;
            if (next_base + pair_row < out) {
                load_batch(next, w, in, out, half, next_base + pair_row,
                           c_begin + lane + next_batch * 32 * GEMV_UNROLL, c_end);
            }
#pragma unroll
            for (int u = 0; u < GEMV_UNROLL; u++) {
                const int c = c0 + 32 * u;
                if (o0 < out && c < c_end) {
                    float xv[VEC];
                    load16(xs + c * VEC, xv);
#pragma unroll
                    for (int r = 0; r < GEMV_ROWS; r++) {
                        const elem_t* we = reinterpret_cast<const elem_t*>(&cur.v[r][u]);
#pragma unroll
                        for (int e = 0; e < VEC; e++) acc[r] += to_float(we[e]) * xv[e];
                    }
                }
            }
            if (last) {
                float sum[GEMV_ROWS];
#pragma unroll
                for (int r = 0; r < GEMV_ROWS; r++) {
                    sum[r] = warp_sum(acc[r]);
                    acc[r] = 0.f;
                }
                if (parts > 1) {   // the pair's first warp adds the other slices
                    const int warp = threadIdx.x >> 5;
                    if (lane == 0) {
#pragma unroll
                        for (int r = 0; r < GEMV_ROWS; r++) slice_sums[warp][r] = sum[r];
                    }
                    __syncthreads();
                    for (int p = 1; p < parts; p++) {
#pragma unroll
                        for (int r = 0; r < GEMV_ROWS; r++) sum[r] += slice_sums[warp + p][r];
                    }
                    __syncthreads();   // read before the next pass writes them
                }
                if (o0 < out && part == 0) epilogue(o0, sum);
            }
            base = next_base;
            batch = next_batch;
        }
    }
};

// y[o0 ..] = sum, by lane 0.
__device__ __forceinline__ void gemv_store(float* y, int o0, int out, const float* sum) {
    if ((threadIdx.x & 31) != 0) return;
#pragma unroll
    for (int r = 0; r < GEMV_ROWS; r++) {
        if (o0 + r < out) y[o0 + r] = sum[r];
    }
}

// Staging, with every thread of the block; xs holds `in` elem_t (dynamic shared memory). Four elements per thread
// and step (in % 4 == 0, 16-byte aligned rows), unrolled so that several steps' loads are in flight at once.
__device__ __forceinline__ void stage_copy(const elem_t* x, elem_t* xs, int in) {
    for (int c = threadIdx.x; c < in / VEC; c += blockDim.x) {
        reinterpret_cast<uint4*>(xs)[c] = reinterpret_cast<const uint4*>(x)[c];
    }
}

__device__ __forceinline__ float4 load_f4(const float* p) { return *reinterpret_cast<const float4*>(p); }

// gate_up [gate (in) | up (in)] fp32; rounded to elem_t as silu_mul stores it.
__device__ __forceinline__ void stage_silu(const float* gate_up, elem_t* xs, int in) {
#pragma unroll 4
    for (int k = 4 * threadIdx.x; k < in; k += 4 * blockDim.x) {
        const float4 g = load_f4(gate_up + k), u = load_f4(gate_up + in + k);
        const float v[4] = {u.x * (g.x / (1.f + expf(-g.x))), u.y * (g.y / (1.f + expf(-g.y))),
                            u.z * (g.z / (1.f + expf(-g.z))), u.w * (g.w / (1.f + expf(-g.w)))};
        store4(xs + k, v);
    }
}

// What add_rmsnorm computes, for one row: with delta (else residual as it is),
//   r = residual + (post_weight ? rmsnorm(delta) * post_weight : delta)     (glm4's post_*_layernorm)
// and x = rmsnorm(r) * weight. Block 0 stores r to residual_out (with delta) and x to normed (unless null).
struct AddNorm {
    const float* residual;
    const float* delta;
    const elem_t* post_weight;
    float* residual_out;
    const elem_t* weight;
    elem_t* normed;
    float eps;
};

// r[0..3] of the row at k (same arithmetic as add_rmsnorm in rmsnorm.cu).
// (res and d4: the residual's and delta's float4 at k, already loaded)
__device__ __forceinline__ void add_norm4(const AddNorm& n, float post_scale, int k, float4 res, float4 d4, float* r) {
    r[0] = res.x;
    r[1] = res.y;
    r[2] = res.z;
    r[3] = res.w;
    if (n.delta == 0) return;
    const float d[4] = {d4.x, d4.y, d4.z, d4.w};
    if (n.post_weight != 0) {
        float pw[4];
        load4(n.post_weight + k, pw);
        for (int i = 0; i < 4; i++) r[i] += pw[i] * (d[i] * post_scale);
    } else {
        for (int i = 0; i < 4; i++) r[i] += d[i];
    }
}

// x = rmsnorm(r) * weight into xs (and normed, residual_out by block 0), for the float4 at k, given the scale and
// the weight's values at k.
__device__ __forceinline__ void store_normed4(const AddNorm& n, elem_t* xs, int k, const float* r, float scale,
                                              const float* w) {
    float v[4];
    for (int i = 0; i < 4; i++) v[i] = w[i] * (r[i] * scale);
    store4(xs + k, v);
    if (blockIdx.x == 0) {
        if (n.normed != 0) store4(n.normed + k, v);
        if (n.delta != 0) *reinterpret_cast<float4*>(n.residual_out + k) = float4{r[0], r[1], r[2], r[3]};
    }
}

// Rows of up to NORM_HELD_ROW elements (every GLM up to hidden 4096): each thread loads its float4s of the residual
// and delta, and the norm weight's values there, once, all at once, and keeps them in registers through the norm's
// two or three passes: one memory latency, where stage_rmsnorm_streamed pays one per pass. (Loaded where it is used,
// after a block-wide sum, the weight costs a second latency, 1-2 % of a batch-1 step.) glm4's post norm
// weight is still read where it is used (its registers would take the GEMV to 128). Same arithmetic, same order.
#define NORM_HELD 4                                      // float4s per thread
#define NORM_HELD_ROW (NORM_HELD * 4 * GEMV_WARPS * 32)  // 4096
__device__ __forceinline__ void stage_rmsnorm_held(const AddNorm& n, elem_t* xs, int in) {
    __shared__ float scratch[32];
    float4 res[NORM_HELD], del[NORM_HELD];
    float w[NORM_HELD][4];
#pragma unroll
    for (int j = 0; j < NORM_HELD; j++) {
        const int k = 4 * (threadIdx.x + j * blockDim.x);
        res[j] = del[j] = float4{0.f, 0.f, 0.f, 0.f};
        for (int i = 0; i < 4; i++) w[j][i] = 0.f;
        if (k < in) {
            res[j] = load_f4(n.residual + k);
            if (n.delta != 0) del[j] = load_f4(n.delta + k);
            load4(n.weight + k, w[j]);
        }
    }
    float post_scale = 1.f;
    if (n.delta != 0 && n.post_weight != 0) {
        float ss = 0.f;
#pragma unroll
        for (int j = 0; j < NORM_HELD; j++) {
            ss += del[j].x * del[j].x + del[j].y * del[j].y + del[j].z * del[j].z + del[j].w * del[j].w;
        }
        ss = block_sum(ss, scratch);
        post_scale = 1.f / sqrtf(ss / in + n.eps);
    }
    float r[NORM_HELD][4];
    float ss = 0.f;
#pragma unroll
    for (int j = 0; j < NORM_HELD; j++) {
        const int k = 4 * (threadIdx.x + j * blockDim.x);
        for (int i = 0; i < 4; i++) r[j][i] = 0.f;
        if (k < in) add_norm4(n, post_scale, k, res[j], del[j], r[j]);
        ss += r[j][0] * r[j][0] + r[j][1] * r[j][1] + r[j][2] * r[j][2] + r[j][3] * r[j][3];
    }
    ss = block_sum(ss, scratch);
    const float scale = 1.f / sqrtf(ss / in + n.eps);
#pragma unroll
    for (int j = 0; j < NORM_HELD; j++) {
        const int k = 4 * (threadIdx.x + j * blockDim.x);
        if (k < in) store_normed4(n, xs, k, r[j], scale, w[j]);
    }
}

// Longer rows: the residual and delta are read again in each pass.
__device__ __forceinline__ void stage_rmsnorm_streamed(const AddNorm& n, elem_t* xs, int in) {
    __shared__ float scratch[32];
    float post_scale = 1.f;
    if (n.delta != 0 && n.post_weight != 0) {
        float ss = 0.f;
#pragma unroll 4
        for (int k = 4 * threadIdx.x; k < in; k += 4 * blockDim.x) {
            const float4 d = load_f4(n.delta + k);
            ss += d.x * d.x + d.y * d.y + d.z * d.z + d.w * d.w;
        }
        ss = block_sum(ss, scratch);
        post_scale = 1.f / sqrtf(ss / in + n.eps);
    }
    float ss = 0.f;
#pragma unroll 4
    for (int k = 4 * threadIdx.x; k < in; k += 4 * blockDim.x) {
        float r[4];
        add_norm4(n, post_scale, k, load_f4(n.residual + k), n.delta != 0 ? load_f4(n.delta + k) : float4{}, r);
        ss += r[0] * r[0] + r[1] * r[1] + r[2] * r[2] + r[3] * r[3];
    }
    ss = block_sum(ss, scratch);
    const float scale = 1.f / sqrtf(ss / in + n.eps);
#pragma unroll 4
    for (int k = 4 * threadIdx.x; k < in; k += 4 * blockDim.x) {
        float r[4], w[4];
        load4(n.weight + k, w);
        add_norm4(n, post_scale, k, load_f4(n.residual + k), n.delta != 0 ? load_f4(n.delta + k) : float4{}, r);
        store_normed4(n, xs, k, r, scale, w);
    }
}

__device__ __forceinline__ void stage_rmsnorm(const AddNorm& n, elem_t* xs, int in) {
    if (in <= NORM_HELD_ROW) {
        stage_rmsnorm_held(n, xs, in);
    } else {
        stage_rmsnorm_streamed(n, xs, in);
    }
}

// Every kernel: w [out, in] elem_t, in a multiple of VEC; parts: warps per row pair (1, 2 or 4; LaunchGeometry.
// gemvParts); grid: min(ceil(out / (GEMV_WARPS / parts * GEMV_ROWS)), GEMV_MIN_BLOCKS * SMs); block: GEMV_WARPS * 32;
// dynamic shared memory: in elem_t. Each has this shape: start the weight loads, wait for the kernel ahead, stage x
// with every thread (no warp may leave before the barrier), run.
template <class Stage, class Epilogue>
__device__ __forceinline__ void gemv_kernel(int trace, const elem_t* w, int in, int out, int parts, int half,
                                            Stage stage, Epilogue epilogue) {
    trace_mark(trace, 0);
    GemvWork work(w, in, out, parts, half);
    follow_previous_kernel();
    trace_mark(trace, 1);
    DYNAMIC_SHARED(uint4, gemv_x);
    elem_t* xs = reinterpret_cast<elem_t*>(gemv_x);
    stage(xs);
    __syncthreads();
    trace_mark(trace, 2);
    work.run(xs, epilogue);
    trace_mark(trace, 7);
}

// y = x · wᵀ; x [in] elem_t, y [out] fp32.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32, GEMV_MIN_BLOCKS) gemv(const elem_t* x, const elem_t* w,
                                                                                   float* y, int in, int out,
                                                                                   int parts) {
    gemv_kernel(in > out ? TRACE_DOWN : TRACE_O, w, in, out, parts, 0, [&](elem_t* xs) { stage_copy(x, xs, in); },
                [&](int o0, const float* sum) { gemv_store(y, o0, out, sum); });
}

// y = (up * silu(gate)) · wᵀ.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32, GEMV_MIN_BLOCKS) gemv_silu(
        const float* gate_up, const elem_t* w, float* y, int in, int out, int parts) {
    gemv_kernel(TRACE_DOWN, w, in, out, parts, 0, [&](elem_t* xs) { stage_silu(gate_up, xs, in); },
                [&](int o0, const float* sum) { gemv_store(y, o0, out, sum); });
}

// y = add_rmsnorm(...) · wᵀ: a residual add and layer norm (see AddNorm) and the projection after it.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32, GEMV_MIN_BLOCKS) gemv_rmsnorm(
        const float* residual, const float* delta, const elem_t* post_weight, float* residual_out,
        const elem_t* weight, elem_t* normed, float eps, const elem_t* w, float* y, int in, int out, int parts) {
    const AddNorm norm{residual, delta, post_weight, residual_out, weight, normed, eps};
    gemv_kernel(TRACE_LM_HEAD, w, in, out, parts, 0, [&](elem_t* xs) { stage_rmsnorm(norm, xs, in); },
                [&](int o0, const float* sum) { gemv_store(y, o0, out, sum); });
}

// The MLP's activation for one token, in the gate_up projection's epilogue: act = up * silu(gate) of
// gate_up = add_rmsnorm(...) · wᵀ, rounded to elem_t as silu_mul rounds it. w is the fused [gate (inter) | up (inter)]
// weight (out = 2 inter rows); a warp's pair is gate row p and up row p, so act[p] needs no other warp. The down
// projection after it stages act as it is (gemv), where gemv_silu would read the fp32 gate_up and apply SiLU in
// every block.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32, GEMV_MIN_BLOCKS) gemv_rmsnorm_silu(
        const float* residual, const float* delta, const elem_t* post_weight, float* residual_out,
        const elem_t* weight, elem_t* normed, float eps, const elem_t* w, elem_t* act, int in, int out, int parts) {
    const AddNorm norm{residual, delta, post_weight, residual_out, weight, normed, eps};
    gemv_kernel(TRACE_GATE_UP, w, in, out, parts, out / 2, [&](elem_t* xs) { stage_rmsnorm(norm, xs, in); },
                [&](int o0, const float* sum) {
                    if ((threadIdx.x & 31) != 0) return;
                    const float gate = sum[0], up = sum[1];
                    act[o0 / 2] = from_float(up * (gate / (1.f + expf(-gate))));
                });
}

// The attention block's input for one token: qkv = add_rmsnorm(...) · wᵀ (as gemv_rmsnorm), then what
// bias_rope_kv_write does (bias_rope_kv_pair, common.cuh): + bias (or null), GLM's interleaved rotary on the q and
// k heads' first rotary_dim dims, k and v into the cache slot (slots[0] < 0: none). A warp's two rows are one
// rotary pair.
extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32, GEMV_MIN_BLOCKS) gemv_rmsnorm_rope(
        const float* residual, const float* delta, const elem_t* post_weight, float* residual_out,
        const elem_t* weight, elem_t* normed, float eps, const elem_t* w, float* qkv, int in, int out, int parts,
        const elem_t* bias, const int* positions, const float* inv_freq, const int* slots, elem_t* k_cache,
        elem_t* v_cache, int num_heads, int num_kv_heads, int head_dim, int rotary_dim) {
    const AddNorm norm{residual, delta, post_weight, residual_out, weight, normed, eps};
    // The step's position and cache slot, read before the wait (uploaded before the step's first kernel), so the
    // epilogue does not wait on them.
    const float position = (float) positions[0];
    const int slot = slots[0];
    gemv_kernel(TRACE_QKV, w, in, out, parts, 0, [&](elem_t* xs) { stage_rmsnorm(norm, xs, in); },
                [&](int c, const float* sum) {
        if ((threadIdx.x & 31) != 0) return;
        bias_rope_kv_pair(qkv, c, sum[0], sum[1], bias, position, inv_freq, slot, k_cache, v_cache, num_heads,
                          num_kv_heads, head_dim, rotary_dim);
    });
}
