package org.autoglm.kernels.cpu;

import static org.autoglm.kernels.cpu.VectorKernels.F;
import static org.autoglm.kernels.cpu.VectorKernels.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.autoglm.models.config.GlmConfig;

/**
 * {@code eager_attention_forward} for one query token and one head over the paged KV cache: scores against the keys of
 * positions {@code 0 .. length-1} (the causal mask: a token sees itself and what precedes it), softmax in fp32, the
 * weighted sum of values. Query head h reads kv head {@code h / (H/K)}, as {@code repeat_kv} arranges it.
 */
final class AttentionKernel {

    private final int headDim;
    private final int group;
    private final int kvDim;
    private final float scale;

    AttentionKernel(GlmConfig c) {
        this.headDim = c.headDim();
        this.group = c.numHeads() / c.numKvHeads();
        this.kvDim = c.numKvHeads() * c.headDim();
        // scaling = self.head_dim**-0.5
        this.scale = (float) Math.pow(c.headDim(), -0.5);
    }

    /**
     * Writes {@code out[outOffset + head * d ..]} for the query at {@code q[qOffset + head * d ..]}, which sees
     * {@code length} positions of the sequence with {@code blockTable}.
     */
    void attend(float[] q, int qOffset, int head, int length, int[] blockTable, CpuKvCache kv, float[] keys,
                float[] values, float[] out, int outOffset, Scratch scratch) {
        int qo = qOffset + head * headDim;
        int kvHeadOffset = (head / group) * headDim;
        float[] scores = scratch.scores(length);
        // attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling (+ causal mask)
        float max = Float.NEGATIVE_INFINITY;
        for (int p = 0; p < length; p++) {
            float s = dot(q, qo, keys, kv.slot(blockTable, p) * kvDim + kvHeadOffset, headDim) * scale;
            scores[p] = s;
            max = Math.max(max, s);
        }
        // attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32)
        float sum = 0;
        for (int p = 0; p < length; p++) {
            float e = (float) Math.exp(scores[p] - max);
            scores[p] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
        // attn_output = torch.matmul(attn_weights, value_states)
        int o = outOffset + head * headDim;
        java.util.Arrays.fill(out, o, o + headDim, 0f);
        for (int p = 0; p < length; p++) {
            axpy(scores[p] * inv, values, kv.slot(blockTable, p) * kvDim + kvHeadOffset, out, o, headDim);
        }
    }

    /** {@code a[ao ..] · b[bo ..]} over {@code n} floats. */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int upper = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (; j < upper; j += L) {
            acc = FloatVector.fromArray(F, a, ao + j).fma(FloatVector.fromArray(F, b, bo + j), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            sum += a[ao + j] * b[bo + j];
        }
        return sum;
    }

    /** {@code y[yo ..] += a * x[xo ..]} over {@code n} floats. */
    static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        int upper = F.loopBound(n);
        int j = 0;
        for (; j < upper; j += L) {
            FloatVector.fromArray(F, x, xo + j).fma(FloatVector.broadcast(F, a), FloatVector.fromArray(F, y, yo + j))
                    .intoArray(y, yo + j);
        }
        for (; j < n; j++) {
            y[yo + j] += a * x[xo + j];
        }
    }
}
