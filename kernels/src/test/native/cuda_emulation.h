// Runs our CUDA C kernel sources on the host, for tests on machines without a GPU.
//
// g++ compiles the .cu files with this header in front: the CUDA keywords become plain C++, every thread of a
// block becomes a fiber on one OS thread (started with ucontext, switched with _setjmp/_longjmp, which skip the
// signal-mask system calls of swapcontext), and __syncthreads / warp shuffles / the mma helper are
// points where a fiber waits until its block (or warp) has arrived. Blocks run one after another, so a function
// static stands in for __shared__ memory. A barrier that can never complete (threads of one block or warp
// waiting at different barriers) fails the launch with "deadlock" instead of hanging.
//
// What this checks: indexing, launch geometry, barriers, online-softmax and split-K arithmetic, fragment layouts
// of the tensor-core helpers — the kernels' logic, on the real source. What it cannot: timing, the memory model
// between blocks that run at once on a GPU, and NVRTC itself (KernelSourcesCompileTest compiles with nvcc).
#pragma once
#define AUTOGLM_HOST_EMULATION 1

#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <math.h>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

struct uint3 { unsigned int x, y, z; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) uint4 { unsigned int x, y, z, w; };
struct alignas(8) float2 { float x, y; };
struct alignas(8) uint2 { unsigned int x, y; };

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static   // one block at a time: a static is the running block's shared memory

inline uint3 threadIdx, blockIdx, blockDim, gridDim;

inline float __uint_as_float(unsigned int u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned int __float_as_uint(float f) { unsigned int u; std::memcpy(&u, &f, 4); return u; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline void sincosf(float x, float* s, float* c) { *s = std::sin(x); *c = std::cos(x); }
inline long long clock64() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
inline float __expf(float x) { return std::exp(x); }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __fdividef(float a, float b) { return a / b; }

namespace emu {

enum class State { Runnable, AtBlockBarrier, AtWarpBarrier, Done };

struct Fiber {
    ucontext_t start;
    jmp_buf resume;
    State state;
    bool started;
};

constexpr size_t STACK_BYTES = 256 * 1024;
constexpr int MAX_THREADS = 1024;

inline jmp_buf scheduler;
inline std::vector<Fiber> fibers;
inline std::unique_ptr<char[]> stacks;   // not zeroed: pages are touched only as deep as the fibers go
inline size_t stack_threads = 0;
inline int current = 0;
inline std::function<void()> kernel_body;
inline std::vector<unsigned char> dynamic_shared;
inline unsigned long long exchange[MAX_THREADS];   // one slot per thread for warp-collective operations

inline void yield(State s) {
    fibers[current].state = s;
    if (!_setjmp(fibers[current].resume)) _longjmp(scheduler, 1);
}

inline void fiber_entry() {
    kernel_body();
    fibers[current].state = State::Done;
    _longjmp(scheduler, 1);   // never returns: the scheduler's frame is current, not the one of the first start
}

// Releases the waiting fibers whose barrier is complete. False when nothing could be released.
inline bool release(int threads) {
    bool any_waiting_block = false, all_at_block = true;
    for (int t = 0; t < threads; t++) {
        if (fibers[t].state == State::Done) continue;
        if (fibers[t].state != State::AtBlockBarrier) all_at_block = false; else any_waiting_block = true;
    }
    if (any_waiting_block && all_at_block) {
        for (int t = 0; t < threads; t++) if (fibers[t].state == State::AtBlockBarrier) fibers[t].state = State::Runnable;
        return true;
    }
    bool released = false;
    for (int w = 0; w * 32 < threads; w++) {
        int end = std::min(threads, w * 32 + 32);
        bool waiting = false, complete = true;
        for (int t = w * 32; t < end; t++) {
            if (fibers[t].state == State::Done) continue;
            if (fibers[t].state == State::AtWarpBarrier) waiting = true; else complete = false;
        }
        if (waiting && complete) {
            for (int t = w * 32; t < end; t++) if (fibers[t].state == State::AtWarpBarrier) fibers[t].state = State::Runnable;
            released = true;
        }
    }
    return released;
}

// Runs one block to completion; returns an error message or an empty string.
inline std::string run_block(int threads) {
    for (int t = 0; t < threads; t++) {
        Fiber& f = fibers[t];
        getcontext(&f.start);
        f.start.uc_stack.ss_sp = stacks.get() + (size_t) t * STACK_BYTES;
        f.start.uc_stack.ss_size = STACK_BYTES;
        f.start.uc_link = nullptr;
        makecontext(&f.start, fiber_entry, 0);
        f.state = State::Runnable;
        f.started = false;
    }
    for (;;) {
        bool ran = false;
        for (int t = 0; t < threads; t++) {
            if (fibers[t].state != State::Runnable) continue;
            current = t;
            threadIdx = uint3{(unsigned) (t % blockDim.x), (unsigned) (t / blockDim.x % blockDim.y),
                              (unsigned) (t / (blockDim.x * blockDim.y))};
            if (!_setjmp(scheduler)) {
                if (fibers[t].started) _longjmp(fibers[t].resume, 1);
                fibers[t].started = true;
                setcontext(&fibers[t].start);
            }
            ran = true;
        }
        bool alive = false;
        for (int t = 0; t < threads; t++) alive |= fibers[t].state != State::Done;
        if (!alive) return "";
        if (!release(threads) && !ran) {
            return "deadlock: the threads of a block (or warp) wait at different barriers";
        }
    }
}

inline int lane() { return current & 31; }
inline int warp_base() { return current & ~31; }

template <class T>
T shuffle(T v, int source_lane) {
    static_assert(sizeof(T) <= 8, "shuffles move up to 8 bytes");
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    exchange[current] = bits;
    yield(State::AtWarpBarrier);
    bits = exchange[warp_base() + (source_lane & 31)];
    yield(State::AtWarpBarrier);   // nobody overwrites a slot before every lane has read
    T r;
    std::memcpy(&r, &bits, sizeof(T));
    return r;
}

using Launcher = std::function<void(void**)>;

inline std::map<std::string, Launcher>& registry() {
    static std::map<std::string, Launcher> kernels;
    return kernels;
}

template <class... A, size_t... I>
void invoke(void (*f)(A...), void** params, std::index_sequence<I...>) {
    f(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(params[I])...);
}

// EMU_KERNEL(name): makes the extern "C" kernel callable by name with cuLaunchKernel-style parameters.
struct Registration {
    template <class... A>
    Registration(const char* name, void (*f)(A...)) {
        registry()[name] = [f](void** params) { invoke(f, params, std::index_sequence_for<A...>{}); };
    }
};

}  // namespace emu

#define EMU_KERNEL(name) static emu::Registration emu_registration_##name(#name, &name);

inline void __syncthreads() { emu::yield(emu::State::AtBlockBarrier); }
inline void __syncwarp(unsigned int = 0xffffffffu) { emu::yield(emu::State::AtWarpBarrier); }

template <class T>
T __shfl_xor_sync(unsigned int, T v, int mask) { return emu::shuffle(v, emu::lane() ^ mask); }
template <class T>
T __shfl_sync(unsigned int, T v, int source) { return emu::shuffle(v, source); }
template <class T>
T __shfl_down_sync(unsigned int, T v, int delta) {
    int from = emu::lane() + delta;
    T other = emu::shuffle(v, from < 32 ? from : emu::lane());
    return other;
}

// Blocks run one at a time: plain memory operations are already atomic and ordered.
inline int atomicAdd(int* address, int v) { int old = *address; *address = old + v; return old; }
inline float atomicAdd(float* address, float v) { float old = *address; *address = old + v; return old; }
inline void __threadfence() {}

inline void* emu_dynamic_shared() { return emu::dynamic_shared.data(); }

// The warp-wide bf16 tensor-core product of common.cuh (mma.sync.m16n8k16.row.col.f32.bf16.bf16.f32), with the
// PTX ISA's fragment layouts: g = lane / 4, t = lane % 4;
//   A (16x16, row): a[0] = A[g][2t..2t+1], a[1] = A[g+8][2t..], a[2] = A[g][2t+8..], a[3] = A[g+8][2t+8..]
//   B (16x8, col):  b[0] = B[2t..2t+1][g], b[1] = B[2t+8..2t+9][g]
//   C (16x8):       c[0..1] = C[g][2t..2t+1], c[2..3] = C[g+8][2t..2t+1]
// Every register holds two bf16, the lower-numbered column (A) or row (B) in the low half.
inline float emu_bf16(unsigned int bits16) { return __uint_as_float((bits16 & 0xffffu) << 16); }

inline void emu_mma_bf16_16816(float* c, const unsigned int* a, const unsigned int* b) {
    // by thread index: the warps of a block take turns, each with its own slots
    static unsigned int frag_a[emu::MAX_THREADS][4], frag_b[emu::MAX_THREADS][2];
    static float frag_c[emu::MAX_THREADS][4];
    const int me = emu::current, base = emu::warp_base();
    for (int i = 0; i < 4; i++) frag_a[me][i] = a[i];
    for (int i = 0; i < 2; i++) frag_b[me][i] = b[i];
    for (int i = 0; i < 4; i++) frag_c[me][i] = c[i];
    emu::yield(emu::State::AtWarpBarrier);
    if (me == base) {
        float A[16][16], B[16][8], C[16][8];
        for (int l = 0; l < 32; l++) {
            int g = l / 4, t = l % 4;
            for (int h = 0; h < 2; h++) {
                A[g][2 * t + h] = emu_bf16(frag_a[base + l][0] >> (16 * h));
                A[g + 8][2 * t + h] = emu_bf16(frag_a[base + l][1] >> (16 * h));
                A[g][2 * t + 8 + h] = emu_bf16(frag_a[base + l][2] >> (16 * h));
                A[g + 8][2 * t + 8 + h] = emu_bf16(frag_a[base + l][3] >> (16 * h));
                B[2 * t + h][g] = emu_bf16(frag_b[base + l][0] >> (16 * h));
                B[2 * t + 8 + h][g] = emu_bf16(frag_b[base + l][1] >> (16 * h));
                C[g][2 * t + h] = frag_c[base + l][h];
                C[g + 8][2 * t + h] = frag_c[base + l][2 + h];
            }
        }
        for (int i = 0; i < 16; i++) {
            for (int j = 0; j < 8; j++) {
                float s = C[i][j];
                for (int k = 0; k < 16; k++) s += A[i][k] * B[k][j];
                C[i][j] = s;
            }
        }
        for (int l = 0; l < 32; l++) {
            int g = l / 4, t = l % 4;
            for (int h = 0; h < 2; h++) {
                frag_c[base + l][h] = C[g][2 * t + h];
                frag_c[base + l][2 + h] = C[g + 8][2 * t + h];
            }
        }
    }
    emu::yield(emu::State::AtWarpBarrier);
    for (int i = 0; i < 4; i++) c[i] = frag_c[me][i];
    emu::yield(emu::State::AtWarpBarrier);   // the next product must not overwrite frag_c before all have read
}

// ldmatrix.sync.aligned.m8n8.x{count}[.trans].shared.b16 (common.cuh's ldmatrix helpers): lane 8i + j gives the
// address of row j of 8x8 matrix i; lane l gets, per matrix, row l/4's elements 2(l%4), 2(l%4)+1 (transposed: those
// rows of column l/4), the lower-numbered one in the low half.
inline void emu_ldmatrix(unsigned int* r, int count, bool trans, const void* row) {
    static const unsigned short* rows[emu::MAX_THREADS];
    const int me = emu::current, base = emu::warp_base(), l = emu::lane(), g = l / 4, t = l % 4;
    rows[me] = static_cast<const unsigned short*>(row);
    emu::yield(emu::State::AtWarpBarrier);
    for (int i = 0; i < count; i++) {
        const unsigned short* const* m = rows + base + 8 * i;
        unsigned int lo = trans ? m[2 * t][g] : m[g][2 * t];
        unsigned int hi = trans ? m[2 * t + 1][g] : m[g][2 * t + 1];
        r[i] = lo | (hi << 16);
    }
    emu::yield(emu::State::AtWarpBarrier);   // the next call must not overwrite rows before all have read
}
