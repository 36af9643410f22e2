package org.autoglm.kernels.cuda;

/**
 * The matrix products of the forward pass, on device addresses, with fp32 accumulation over the element type
 * (bf16 or fp32) of weights and GEMM inputs.
 */
public interface Gemm extends AutoCloseable {

    /** {@code y[rows, out] = x[rows, in] · w[out, in]ᵀ} (row-major PyTorch weights), fp32 output. */
    void linear(long x, long w, long y, int rows, int in, int out);

    /**
     * Attention scores of one sequence, for the query heads {@code heads} sharing one KV head (GQA): for each head
     * h, {@code scores[h][q][k] = Σ_d q[h][q][d] · k[k][d]}, all tokens × tokens (row-major, fp32). q is
     * [heads, tokens, d] and k [tokens, d], both in the element type.
     */
    void scores(long q, long k, long scores, int tokens, int headDim, int heads);

    /**
     * {@code out[q][h * headDim + d] = Σ_k probs[h][q][k] · v[k][d]} for {@code heads} query heads sharing v
     * ([tokens, d]); probs [heads, tokens, tokens] and out (row stride {@code outStride} elements) in the element
     * type.
     */
    void weightedValues(long probs, long v, long out, int tokens, int headDim, int heads, int outStride);

    @Override
    void close();
}
