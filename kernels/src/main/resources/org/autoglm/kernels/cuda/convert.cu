// Weight preparation on the device: dtype conversion of uploaded checkpoint tensors, and random weights for
// benchmarks (built on the GPU so that no host memory or disk is needed for a 9B shape).
#include "common.cuh"

extern "C" __global__ void f32_to_elem(const float* src, elem_t* dst, long long n) {
    follow_previous_kernel();
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        dst[i] = from_float(src[i]);
    }
}

extern "C" __global__ void bf16_to_elem(const unsigned short* src, elem_t* dst, long long n) {
    follow_previous_kernel();
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        dst[i] = from_float(__uint_as_float(((unsigned int) src[i]) << 16));
    }
}

// dst[i] = offset + scale * u, u uniform in [-1, 1) from a hash of (seed, i).
extern "C" __global__ void fill_uniform(elem_t* dst, long long n, unsigned long long seed, float offset, float scale) {
    follow_previous_kernel();
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        unsigned long long x = seed + 0x9e3779b97f4a7c15ull * (unsigned long long) (i + 1);
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        x ^= x >> 31;
        const float u = (float) (x >> 40) * (1.f / 8388608.f) - 1.f;   // 24 bits -> [-1, 1)
        dst[i] = from_float(offset + scale * u);
    }
}
