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

// Programmatic dependent launch (sm_90+; GpuKernelRuntime launches with it under fused decode): a kernel may
// start while the one before it in the stream finishes, so every kernel first waits here until that kernel's writes
// are visible, then lets the next one begin launching. No-op on older GPUs, when a launch did not ask for it, and in
// the host emulation.
__device__ __forceinline__ void follow_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// d = a · b + c for one warp: a 16x16 (row-major), b 16x8 (column-major), bf16 inputs and fp32 accumulators, in
// the fragment layouts of PTX's mma.sync.m16n8k16 (see cuda_emulation.h in the tests for the layouts spelled out).
// sm_80+; only the tensor-core sources use it.
#ifdef AUTOGLM_HOST_EMULATION
#define mma_bf16_16816 emu_mma_bf16_16816
#else
__device__ __forceinline__ void mma_bf16_16816(float* c, const unsigned int* a, const unsigned int* b) {
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}
#endif
