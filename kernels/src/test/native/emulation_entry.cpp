// The host emulation's entry points, called from Java through JNA (see cuda_emulation.h), and a stand-in for the
// cuBLAS GEMMs the forward pass uses.
#include "cuda_emulation.h"
#include "common.cuh"

// The launch entry points, called from Java through JNA.
extern "C" {

// The launcher of kernel `name`, or null.
__attribute__((visibility("default"))) void* emu_function(const char* name) {
    auto& r = emu::registry();
    auto it = r.find(name);
    return it == r.end() ? nullptr : &it->second;
}

// Runs every block of the grid in order. Returns 0, or 1 with a message in `error`.
__attribute__((visibility("default"))) int emu_launch(void* function, int gx, int gy, int gz, int bx, int by, int bz, int shared_bytes,
                      void** params, char* error, int error_len) {
    auto* launcher = static_cast<emu::Launcher*>(function);
    int threads = bx * by * bz;
    if (threads < 1 || threads > emu::MAX_THREADS) {
        std::snprintf(error, error_len, "block of %d threads (1..%d)", threads, emu::MAX_THREADS);
        return 1;
    }
    if (emu::stack_threads < (size_t) threads) {
        emu::stacks.reset(new char[(size_t) threads * emu::STACK_BYTES]);
        emu::stack_threads = threads;
    }
    emu::fibers.resize(std::max<size_t>(emu::fibers.size(), threads));
    emu::dynamic_shared.assign(shared_bytes + 16, 0xcd);   // garbage, as on the GPU
    blockDim = uint3{(unsigned) bx, (unsigned) by, (unsigned) bz};
    gridDim = uint3{(unsigned) gx, (unsigned) gy, (unsigned) gz};
    emu::kernel_body = [launcher, params] { (*launcher)(params); };
    for (int z = 0; z < gz; z++) {
        for (int y = 0; y < gy; y++) {
            for (int x = 0; x < gx; x++) {
                blockIdx = uint3{(unsigned) x, (unsigned) y, (unsigned) z};
                std::string e = emu::run_block(threads);
                if (!e.empty()) {
                    std::snprintf(error, error_len, "%s (block %d,%d,%d)", e.c_str(), x, y, z);
                    return 1;
                }
            }
        }
    }
    return 0;
}
}

// cuBLAS stand-ins with the semantics of Gemm: fp32 accumulation over elem_t inputs.
extern "C" {

// y[rows, out] = x[rows, in] · w[out, in]ᵀ, fp32 output.
__attribute__((visibility("default"))) void emu_linear(const elem_t* x, const elem_t* w, float* y, int rows, int in, int out) {
    for (int r = 0; r < rows; r++) {
        for (int o = 0; o < out; o++) {
            float acc = 0.f;
            for (int k = 0; k < in; k++) acc += to_float(x[(long long) r * in + k]) * to_float(w[(long long) o * in + k]);
            y[(long long) r * out + o] = acc;
        }
    }
}

// scores[h][q][k] = Σ_d q[h][q][d] · k[k][d] for every (q, k), fp32.
__attribute__((visibility("default"))) void emu_scores(const elem_t* q, const elem_t* k, float* scores, int tokens, int head_dim, int heads) {
    for (int h = 0; h < heads; h++) {
        for (int i = 0; i < tokens; i++) {
            for (int j = 0; j < tokens; j++) {
                float acc = 0.f;
                for (int d = 0; d < head_dim; d++) {
                    acc += to_float(q[((long long) h * tokens + i) * head_dim + d]) * to_float(k[(long long) j * head_dim + d]);
                }
                scores[((long long) h * tokens + i) * tokens + j] = acc;
            }
        }
    }
}

// out[q * out_stride + h * head_dim + d] = Σ_k probs[h][q][k] · v[k][d], in elem_t.
__attribute__((visibility("default"))) void emu_weighted_values(const elem_t* probs, const elem_t* v, elem_t* out, int tokens, int head_dim, int heads,
                         int out_stride) {
    for (int h = 0; h < heads; h++) {
        for (int i = 0; i < tokens; i++) {
            for (int d = 0; d < head_dim; d++) {
                float acc = 0.f;
                for (int j = 0; j < tokens; j++) {
                    acc += to_float(probs[((long long) h * tokens + i) * tokens + j]) * to_float(v[(long long) j * head_dim + d]);
                }
                out[(long long) i * out_stride + h * head_dim + d] = from_float(acc);
            }
        }
    }
}
}
