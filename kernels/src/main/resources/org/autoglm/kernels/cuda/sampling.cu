// Next token from logits on the GPU, so that only token ids cross to the host.
// Greedy: argmax, lowest id on ties (torch.argmax). Otherwise, as HF's warpers in order: logits / temperature,
// keep values >= the k-th largest (top-k, ties kept), keep the smallest top set whose probability reaches top_p
// (top-p), then draw with a counter-based generator seeded per sequence and step (reproducible for a seed).
#include "common.cuh"

#define THREADS 1024

// Float order as unsigned order, so thresholds can be found by bisection over 32 bits.
__device__ __forceinline__ unsigned int ordered(float f) {
    unsigned int u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ unsigned long long splitmix64(unsigned long long x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}


// f(i, x[i]) for every logit of a row, spread over the block: with vocab % 4 == 0 (rows then start 16-byte
// aligned) each thread reads float4s t, t + blockDim, ..., four at a time, so that a thread has 64 bytes in flight
// instead of waiting on one load per element (one block reads a whole row). With t > 0, x[i] becomes x[i] / t
// first, stored back in the same pass.
template <class F>
__device__ __forceinline__ void scan_row(float* x, int vocab, float t, F f) {
    if ((vocab & 3) != 0) {
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            float v = x[i];
            if (t > 0.f) { v = v / t; x[i] = v; }
            f(i, v);
        }
        return;
    }
    float4* x4 = reinterpret_cast<float4*>(x);
    const int n4 = vocab >> 2, step = blockDim.x;
    for (int i0 = threadIdx.x; i0 < n4; i0 += 4 * step) {
        float4 a[4];
#pragma unroll
        for (int u = 0; u < 4; u++) {
            if (i0 + u * step < n4) a[u] = x4[i0 + u * step];
        }
#pragma unroll
        for (int u = 0; u < 4; u++) {
            const int i = i0 + u * step;
            if (i >= n4) break;
            if (t > 0.f) {
                a[u] = float4{a[u].x / t, a[u].y / t, a[u].z / t, a[u].w / t};
                x4[i] = a[u];
            }
            f(4 * i, a[u].x);
            f(4 * i + 1, a[u].y);
            f(4 * i + 2, a[u].z);
            f(4 * i + 3, a[u].w);
        }
    }
}

// Largest threshold (in ordered bits) whose kept set {x >= t} still satisfies the target.
// mode 0: count of values >= t must reach target; mode 1: sum of exp(x - max) over values >= t (and >= floor).
// A search over the 32 bits that tries SEARCH_WAYS - 1 thresholds per pass over the row (4 bits of the answer a
// pass, where bisection took one): each thread sums its values per threshold, and the block adds those sums in a
// fixed order, so a row's answer is the same on every run. sums: SEARCH_SUMS floats of shared memory.
#define SEARCH_WAYS 16
#define SEARCH_SUMS (32 * (SEARCH_WAYS - 1) + SEARCH_WAYS)
__device__ unsigned int search_threshold(float* x, int n, float mx, unsigned int floor_bits, int mode, float target,
                                         float* sums) {
    unsigned int lo = floor_bits, hi = 0xffffffffu;   // invariant: lo satisfies the target
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    while (lo < hi) {
        // thresholds cut[1..] strictly above lo, rising to at most hi (equal ones when the range is short)
        unsigned int cut[SEARCH_WAYS];
        const unsigned long long span = (unsigned long long) hi - lo;
#pragma unroll
        for (int j = 1; j < SEARCH_WAYS; j++) {
            cut[j] = lo + (unsigned int) ((span * j + SEARCH_WAYS - 1) / SEARCH_WAYS);
        }
        float local[SEARCH_WAYS];
#pragma unroll
        for (int j = 1; j < SEARCH_WAYS; j++) local[j] = 0.f;
        scan_row(x, n, 0.f, [&](int, float v) {
            const unsigned int bits = ordered(v);
            if (bits < cut[1]) return;
            const float w = mode == 0 ? 1.f : expf(v - mx);
#pragma unroll
            for (int j = 1; j < SEARCH_WAYS; j++) {
                if (bits >= cut[j]) local[j] += w;
            }
        });
#pragma unroll
        for (int j = 1; j < SEARCH_WAYS; j++) {
            const float w = warp_sum(local[j]);
            if (lane == 0) sums[warp * (SEARCH_WAYS - 1) + j - 1] = w;
        }
        __syncthreads();
        float* total = sums + 32 * (SEARCH_WAYS - 1);
        if (threadIdx.x >= 1 && threadIdx.x < SEARCH_WAYS) {
            float t = 0.f;
            for (int w = 0; w < warps; w++) t += sums[w * (SEARCH_WAYS - 1) + threadIdx.x - 1];
            total[threadIdx.x] = t;
        }
        __syncthreads();
        // the highest threshold that still reaches the target bounds the answer from below, the next one above it
        // (which does not reach it, so lies higher) from above; the thresholds that reach it are a prefix, as a sum
        // over fewer values in the same order is never larger
        unsigned int new_lo = lo, new_hi = cut[1] - 1;
        for (int j = 1; j < SEARCH_WAYS; j++) {
            if (total[j] >= target) {
                new_lo = cut[j];
                new_hi = j + 1 < SEARCH_WAYS ? cut[j + 1] - 1 : hi;
            }
        }
        __syncthreads();   // total is rewritten by the next pass
        lo = new_lo;
        hi = new_hi;
    }
    return lo;
}

// Sum of exp(x - mx) over the row's values at or above floor_bits.
__device__ float kept_mass(float* x, int n, float mx, unsigned int floor_bits, float* scratch) {
    float kept = 0.f;
    scan_row(x, n, 0.f, [&](int, float v) {
        if (ordered(v) >= floor_bits) kept += expf(v - mx);
    });
    return block_sum(kept, scratch);
}

// One row per block (THREADS threads). logits is overwritten with logits / temperature.
// temperature <= 0: greedy. top_k <= 0: no top-k. top_p >= 1: no top-p. positions seed the draw per step.
extern "C" __global__ void __launch_bounds__(THREADS) sample_tokens(
        float* logits, int vocab, const float* temperature, const int* top_k, const float* top_p,
        const unsigned long long* seeds, const int* steps, int* out_ids) {
    trace_mark(TRACE_SAMPLE, 0);
    follow_previous_kernel();
    trace_mark(TRACE_SAMPLE, 1);
    __shared__ float scratch[32];
    __shared__ float search_sums[SEARCH_SUMS];
    __shared__ float best_val[32];
    __shared__ int best_id[32];
    __shared__ float chunk_mass[THREADS];
    float* x = logits + (long long) blockIdx.x * vocab;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const float t = temperature[blockIdx.x];

    // argmax (greedy answer, and the max for the softmax)
    float bv = NEG_INF;
    int bi = 0x7fffffff;
    scan_row(x, vocab, t, [&](int i, float v) {
        if (v > bv || (v == bv && i < bi)) { bv = v; bi = i; }
    });
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
        const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
    }
    if (lane == 0) { best_val[warp] = bv; best_id[warp] = bi; }
    __syncthreads();
    if (warp == 0) {
        bv = lane < (blockDim.x >> 5) ? best_val[lane] : NEG_INF;
        bi = lane < (blockDim.x >> 5) ? best_id[lane] : 0x7fffffff;
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
        }
        if (lane == 0) { best_val[0] = bv; best_id[0] = bi; }
    }
    __syncthreads();
    if (t <= 0.f) {
        if (threadIdx.x == 0) out_ids[blockIdx.x] = best_id[0];
        trace_mark(TRACE_SAMPLE, 7);
        return;
    }
    const float mx = best_val[0];

    unsigned int floor_bits = 0u;
    const int k = top_k[blockIdx.x];
    if (k > 0 && k < vocab) floor_bits = search_threshold(x, vocab, mx, 0u, 0, (float) k, search_sums);
    float kept = kept_mass(x, vocab, mx, floor_bits, scratch);
    const float p = top_p[blockIdx.x];
    if (p < 1.f) {
        floor_bits = search_threshold(x, vocab, mx, floor_bits, 1, p * kept, search_sums);
        kept = kept_mass(x, vocab, mx, floor_bits, scratch);
    }

    // Draw u in [0, kept) and find the token where the running mass (in id order) passes u.
    const unsigned long long r = splitmix64(seeds[blockIdx.x] ^ splitmix64((unsigned long long) steps[blockIdx.x]));
    const float u = (float) ((r >> 11) * (1.0 / 9007199254740992.0)) * kept;
    const int per = (vocab + blockDim.x - 1) / blockDim.x;
    const int begin = threadIdx.x * per, end = imin(vocab, begin + per);
    float mass = 0.f;
#pragma unroll 8
    for (int i = begin; i < end; i++) if (ordered(x[i]) >= floor_bits) mass += expf(x[i] - mx);
    chunk_mass[threadIdx.x] = mass;
    __syncthreads();
    if (threadIdx.x == 0) {
        float run = 0.f;
        int chosen = -1, owner = -1;
        for (int c = 0; c < (int) blockDim.x && owner < 0; c++) {
            if (run + chunk_mass[c] > u) owner = c; else run += chunk_mass[c];
        }
        if (owner >= 0) {
            const int b = owner * per, e = imin(vocab, b + per);
            for (int i = b; i < e; i++) {
                if (ordered(x[i]) < floor_bits) continue;
                chosen = i;   // rounding can leave u just past the end: fall back to the last kept token
                run += expf(x[i] - mx);
                if (run > u) break;
            }
        }
        out_ids[blockIdx.x] = chosen >= 0 ? chosen : best_id[0];
    }
}

// An output grammar's allowed tokens, applied before sample_tokens: row r of the logits keeps token i when bit i % 64
// of word i / 64 of mask row mask_rows[r] is set, and gets minus infinity otherwise (every sampling mode then skips
// it); mask_rows[r] < 0 leaves the row alone. Tokens past the mask's words * 64 are never allowed. One block a row.
extern "C" __global__ void apply_token_mask(float* logits, int vocab, const unsigned long long* masks, int words,
                                            const int* mask_rows) {
    const int m = mask_rows[blockIdx.x];
    if (m < 0) return;
    const unsigned long long* mask = masks + (long long) m * words;
    float* x = logits + (long long) blockIdx.x * vocab;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        const int w = i >> 6;
        if (w >= words || ((mask[w] >> (i & 63)) & 1ull) == 0ull) x[i] = NEG_INF;
    }
}

// Asynchronous scheduling: a token the previous step drew on the device enters this step's ids as -(row + 1), row
// being its logit row there; sample_tokens left that step's ids in drawn (the host does not overwrite them when it
// uploads the next step's sampling parameters). Runs before embedding_gather. grid: (tokens + 255) / 256; block: 256.
extern "C" __global__ void feed_sampled_ids(int* ids, const int* drawn, int tokens) {
    follow_previous_kernel();
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < tokens && ids[t] < 0) ids[t] = drawn[-ids[t] - 1];
}
