// Shared by every kernel source. Compiled by NVRTC at start-up (no system headers are available there),
// so this file includes nothing: bf16 is handled as raw bits.
//
// elem_t is the storage type of weights, GEMM inputs and the KV cache: bf16 when AUTOGLM_BF16 is defined,
// else fp32 (the exact-parity path). Arithmetic is always fp32.
#pragma once

#ifdef AUTOGLM_BF16
typedef unsigned short elem_t;
__device__ __forceinline__ float to_float(elem_t x) { return __uint_as_float(((unsigned int) x) << 16); }
// Round to nearest even, as torch's .to(torch.bfloat16); NaN stays NaN.
__device__ __forceinline__ elem_t from_float(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (elem_t) ((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (elem_t) (u >> 16);
}
#else
typedef float elem_t;
__device__ __forceinline__ float to_float(elem_t x) { return x; }
__device__ __forceinline__ elem_t from_float(float f) { return f; }
#endif

// The block's dynamic shared memory as `type name[]`. (Under the tests' host emulation, a buffer it provides.)
#ifdef AUTOGLM_HOST_EMULATION
#define DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(emu_dynamic_shared())
#else
#define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

#define WARP 32
#define VEC (16 / (int) sizeof(elem_t))   // elements per 16-byte load

// 16 raw bytes (VEC elements) as floats.
__device__ __forceinline__ void unpack16(const uint4& raw, float* dst) {
    const elem_t* e = reinterpret_cast<const elem_t*>(&raw);
    for (int i = 0; i < VEC; i++) dst[i] = to_float(e[i]);
}

// 16 bytes (VEC elements, 16-byte aligned) as floats.
__device__ __forceinline__ void load16(const elem_t* src, float* dst) {
    unpack16(*reinterpret_cast<const uint4*>(src), dst);
}

// 4 elements (aligned to 4) as floats, and floats rounded to 4 elements.
__device__ __forceinline__ void load4(const elem_t* src, float* dst) {
#ifdef AUTOGLM_BF16
    const uint2 raw = *reinterpret_cast<const uint2*>(src);
    dst[0] = __uint_as_float(raw.x << 16);
    dst[1] = __uint_as_float(raw.x & 0xffff0000u);
    dst[2] = __uint_as_float(raw.y << 16);
    dst[3] = __uint_as_float(raw.y & 0xffff0000u);
#else
    const float4 f = *reinterpret_cast<const float4*>(src);
    dst[0] = f.x;
    dst[1] = f.y;
    dst[2] = f.z;
    dst[3] = f.w;
#endif
}

__device__ __forceinline__ void store4(elem_t* dst, const float* v) {
#ifdef AUTOGLM_BF16
    *reinterpret_cast<uint2*>(dst) = uint2{(unsigned int) from_float(v[0]) | ((unsigned int) from_float(v[1]) << 16),
                                           (unsigned int) from_float(v[2]) | ((unsigned int) from_float(v[3]) << 16)};
#else
    *reinterpret_cast<float4*>(dst) = float4{v[0], v[1], v[2], v[3]};
#endif
}

// A load that skips L1 (ld.global.cg): for data other blocks of the running grid wrote. asm volatile keeps it after
// the __threadfence that orders it.
__device__ __forceinline__ float load_cg(const float* p) {
#ifdef AUTOGLM_HOST_EMULATION
    return *p;
#else
    float v;
    asm volatile("ld.global.cg.f32 %0, [%1];" : "=f"(v) : "l"(p));
    return v;
#endif
}

__device__ __forceinline__ float4 load_cg4(const float* p) {
#ifdef AUTOGLM_HOST_EMULATION
    return *reinterpret_cast<const float4*>(p);
#else
    float4 v;
    asm volatile("ld.global.cg.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
    return v;
#endif
}

// NVRTC has no min/max overloads for int without the runtime headers: our own.
__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }
#define NEG_INF (__int_as_float(0xff800000))

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over a block of up to 1024 threads; every thread gets the result. scratch: 32 floats of shared memory.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.f;
    return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : NEG_INF;
    return warp_max(v);
}

// One pair (c, c + 1) of a token's fused q/k/v row, x0 and x1 its projected values: + bias (or null), GLM's
// interleaved rotary on the q and k heads' first rotary_dim dims (pair (2i, 2i+1) turns by position * inv_freq[i]),
// stored to row[c..c+1]; k and v also into the cache at slot (< 0: padding, nothing written), laid out as
// [slots, num_kv_heads, head_dim]. bias_rope_kv_write (rope.cu) and gemv_rmsnorm_rope's epilogue (gemv.cu).
__device__ __forceinline__ void bias_rope_kv_pair(float* row, int c, float x0, float x1, const elem_t* bias,
                                                  float position, const float* inv_freq, int slot, elem_t* k_cache,
                                                  elem_t* v_cache, int num_heads, int num_kv_heads, int head_dim,
                                                  int rotary_dim) {
    const int head = c / head_dim, d = c - head * head_dim;
    if (bias != 0) {
        x0 += to_float(bias[c]);
        x1 += to_float(bias[c + 1]);
    }
    if (head < num_heads + num_kv_heads && d < rotary_dim) {
        float s, co;
        sincosf(position * inv_freq[d / 2], &s, &co);
        const float r0 = x0 * co - x1 * s;   // x * cos + rotate_half(x) * sin, rotate_half = (-x1, x0)
        const float r1 = x1 * co + x0 * s;
        x0 = r0;
        x1 = r1;
    }
    row[c] = x0;
    row[c + 1] = x1;
    if (slot >= 0 && head >= num_heads) {
        const bool is_k = head < num_heads + num_kv_heads;
        const long long at = (long long) slot * num_kv_heads * head_dim
                + (long long) (head - num_heads - (is_k ? 0 : num_kv_heads)) * head_dim + d;
        elem_t* dst = is_k ? k_cache : v_cache;
        dst[at] = from_float(x0);
        dst[at + 1] = from_float(x1);
    }
}

// Programmatic dependent launch (sm_90+; GpuKernelRuntime launches the one-token pass with it): a kernel may
// start while the one before it in the stream finishes, so every kernel first waits here until that kernel's writes
// are visible. With PDL_EARLY_TRIGGER (default) it then lets the next one begin launching at once; with
// --cuda-option define=PDL_EARLY_TRIGGER=0 the next one launches only when this one ends (its waiting blocks then
// hold no SM slots that this kernel's later blocks need). No-op on older GPUs, when a launch did not ask for it, and
// in the host emulation.
#ifndef PDL_EARLY_TRIGGER
#define PDL_EARLY_TRIGGER 1
#endif
__device__ __forceinline__ void follow_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#if PDL_EARLY_TRIGGER
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
#endif
}

// Step timeline (measurement only: compiled in with --cuda-option define=AUTOGLM_TRACE=1; DecodeBench prints it).
// Thread 0 of each block stores %globaltimer (ns) at numbered marks of its kernel into autoglm_trace[kind][block]
// [mark]; every launch of a kind overwrites the one before, so after a step the array holds that step's last launch
// of each kind (the last layer's). Marks: 0 entry, 1 after the dependent-launch wait, 2.. the kernel's phases, 7 exit.
// (StepTrace.java reads it: keep the kinds and the shape in sync.)
#define TRACE_EMBEDDING 0
#define TRACE_QKV 1
#define TRACE_ATTENTION 2
#define TRACE_O 3
#define TRACE_GATE_UP 4
#define TRACE_DOWN 5
#define TRACE_LM_HEAD 6
#define TRACE_SAMPLE 7
#define TRACE_KINDS 8
#define TRACE_BLOCKS 512
#define TRACE_MARKS 8
#if defined(AUTOGLM_TRACE) && defined(__CUDA_ARCH__)
__device__ unsigned long long autoglm_trace[TRACE_KINDS * TRACE_BLOCKS * TRACE_MARKS];
__device__ __forceinline__ void trace_mark(int kind, int mark) {
    if (threadIdx.x != 0) return;
    const int block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    if (block < TRACE_BLOCKS) autoglm_trace[(kind * TRACE_BLOCKS + block) * TRACE_MARKS + mark] = t;
}
#else
__device__ __forceinline__ void trace_mark(int, int) {}
#endif

// ---- Tensor-core and asynchronous-copy helpers (sm_80+) ----
// d = a · b + c for one warp: a 16x16 (row-major), b 16x8 (column-major), bf16 inputs and fp32 accumulators, in
// the fragment layouts of PTX's mma.sync.m16n8k16 (see cuda_emulation.h in the tests for the layouts spelled out).
// ldmatrix_x{2,4}[_trans]: lane 8i + j gives the shared-memory address of row j of 8x8 bf16 matrix i (16 bytes,
// aligned); every lane gets, per matrix, a register holding row lane/4's elements 2(lane%4) and 2(lane%4)+1 (with
// _trans: column lane/4's, rows 2(lane%4) and 2(lane%4)+1), i.e. mma fragments straight from a tile in shared memory.
// cp_async16: a 16-byte global-to-shared copy that does not hold a register (decode_attention uses it on every GPU:
// below sm_80 it is a plain copy); cp_async_commit closes a group of them, cp_async_wait<N> waits until at most N
// groups are still in flight (then __syncthreads makes them everyone's).
#ifdef AUTOGLM_HOST_EMULATION
#define mma_bf16_16816 emu_mma_bf16_16816
#define ldmatrix_x2(r, row) emu_ldmatrix(r, 2, false, row)
#define ldmatrix_x4(r, row) emu_ldmatrix(r, 4, false, row)
#define ldmatrix_x4_trans(r, row) emu_ldmatrix(r, 4, true, row)
__device__ __forceinline__ void cp_async16(void* shared, const void* global) {
    *static_cast<uint4*>(shared) = *static_cast<const uint4*>(global);
}
__device__ __forceinline__ void cp_async_commit() {}
template <int N>
__device__ __forceinline__ void cp_async_wait() {}
#elif !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800   // (not at all below sm_80: the asm would not assemble)
__device__ __forceinline__ void mma_bf16_16816(float* c, const unsigned int* a, const unsigned int* b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ unsigned int shared_address(const void* p) {
    unsigned int a;
    asm("{ .reg .u64 s; cvta.to.shared.u64 s, %1; cvt.u32.u64 %0, s; }" : "=r"(a) : "l"(p));
    return a;
}
__device__ __forceinline__ void ldmatrix_x2(unsigned int* r, const void* row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];" : "=r"(r[0]), "=r"(r[1])
                 : "r"(shared_address(row)));
}
__device__ __forceinline__ void ldmatrix_x4(unsigned int* r, const void* row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(row)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned int* r, const void* row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(row)));
}
__device__ __forceinline__ void cp_async16(void* shared, const void* global) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" :: "r"(shared_address(shared)), "l"(global) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory"); }
#else   // below sm_80 (no tensor-core sources there): cp.async is a plain copy, finished when it returns
__device__ __forceinline__ void cp_async16(void* shared, const void* global) {
    *static_cast<uint4*>(shared) = *static_cast<const uint4*>(global);
}
__device__ __forceinline__ void cp_async_commit() {}
template <int N>
__device__ __forceinline__ void cp_async_wait() {}
#endif

// ---- Weight-only quantized bytes (quantized.cu, quantized_gemm.cu) ----
// e4m3 to fp32, exact. From sm_89 the hardware converts two at a time; elsewhere: the 7 magnitude bits placed at
// fp32's exponent/mantissa boundary and scaled by 2^120 (exact for normals and subnormals alike). The loader never
// stores NaN (0x7F), which this path would read as 480.
__device__ __forceinline__ void fp8x4_to_float(unsigned int w, float* out) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
    unsigned int lo, hi;
    asm("{cvt.rn.f16x2.e4m3x2 %0, %1;}" : "=r"(lo) : "h"((unsigned short) (w & 0xffffu)));
    asm("{cvt.rn.f16x2.e4m3x2 %0, %1;}" : "=r"(hi) : "h"((unsigned short) (w >> 16)));
    asm("{cvt.f32.f16 %0, %1;}" : "=f"(out[0]) : "h"((unsigned short) (lo & 0xffffu)));
    asm("{cvt.f32.f16 %0, %1;}" : "=f"(out[1]) : "h"((unsigned short) (lo >> 16)));
    asm("{cvt.f32.f16 %0, %1;}" : "=f"(out[2]) : "h"((unsigned short) (hi & 0xffffu)));
    asm("{cvt.f32.f16 %0, %1;}" : "=f"(out[3]) : "h"((unsigned short) (hi >> 16)));
#else
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const unsigned int b = (w >> (8 * i)) & 0xffu;
        const float magnitude = __uint_as_float((b & 0x7fu) << 20) * 0x1p120f;
        out[i] = __uint_as_float(__float_as_uint(magnitude) | ((b & 0x80u) << 24));
    }
#endif
}

// Signed bytes to fp32, exact: 2^23 + (b ^ 0x80) as a float's mantissa, minus 2^23 + 128.
__device__ __forceinline__ void int8x4_to_float(unsigned int w, float* out) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const unsigned int b = ((w >> (8 * i)) & 0xffu) ^ 0x80u;
        out[i] = __uint_as_float(0x4b000000u | b) - 8388736.f;
    }
}

// 16 quantized weights (one 16-byte load) as floats.
__device__ __forceinline__ void decode16(const uint4& raw, int fp8, float* out) {
    const unsigned int words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        if (fp8) fp8x4_to_float(words[i], out + 4 * i); else int8x4_to_float(words[i], out + 4 * i);
    }
}
