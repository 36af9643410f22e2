package org.autoglm.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A host emulation of the CUDA kernels (fp32 element type), line by line after the .cu sources: same arguments,
 * same layouts, same blocks / warps / lanes structure, same online softmax and split-K arithmetic. "Device memory"
 * is one heap; addresses are byte offsets into it. Lets the real {@link GlmForward}, {@code StepPacker} layouts and
 * kernel indexing be checked against the reference fixtures on a machine without a GPU.
 */
final class EmulatedKernels implements ForwardKernels {

    static final int WARPS = 4, ROWS_PER_WARP = 4, ROWS = 16, KEYS = 32, DIMS_PER_LANE = 4;

    final ByteBuffer heap;
    private long top = 256;   // address 0 stays "null"

    EmulatedKernels(int bytes) {
        heap = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    long alloc(long bytes) {
        long a = top;
        top += (bytes + 255) / 256 * 256;
        if (top > heap.capacity()) throw new IllegalStateException("emulated heap full");
        return a;
    }

    float f(long addr, long index) {
        return heap.getFloat((int) (addr + 4 * index));
    }

    void setF(long addr, long index, float v) {
        heap.putFloat((int) (addr + 4 * index), v);
    }

    int i(long addr, long index) {
        return heap.getInt((int) (addr + 4 * index));
    }

    void setI(long addr, long index, int v) {
        heap.putInt((int) (addr + 4 * index), v);
    }

    @Override
    public void linear(long x, long w, long y, int rows, int in, int out) {
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                float acc = 0;
                for (int k = 0; k < in; k++) acc += f(x, (long) r * in + k) * f(w, (long) o * in + k);
                setF(y, (long) r * out + o, acc);
            }
        }
    }

    @Override
    public void embeddingGather(long ids, long table, long out, int tokens, int hidden) {
        for (int t = 0; t < tokens; t++) {
            int id = i(ids, t);
            for (int c = 0; c < hidden; c++) setF(out, (long) t * hidden + c, f(table, (long) id * hidden + c));
        }
    }

    @Override
    public void gatherRows(long rows, long src, long dst, int count, int width) {
        for (int r = 0; r < count; r++) {
            int row = i(rows, r);
            for (int c = 0; c < width; c++) setF(dst, (long) r * width + c, f(src, (long) row * width + c));
        }
    }

    @Override
    public void addRmsnorm(long x, long postWeight, long residual, long weight, long out, int rows, int hidden,
            float eps) {
        float[] row = new float[hidden];
        for (int b = 0; b < rows; b++) {
            long base = (long) b * hidden;
            if (x != 0) {
                float postScale = 1f;
                if (postWeight != 0) {
                    float ss = 0;
                    for (int i = 0; i < hidden; i++) ss += f(x, base + i) * f(x, base + i);
                    postScale = 1f / (float) Math.sqrt(ss / hidden + eps);
                }
                for (int i = 0; i < hidden; i++) {
                    float v = f(x, base + i);
                    if (postWeight != 0) v = f(postWeight, i) * (v * postScale);
                    float r = f(residual, base + i) + v;
                    setF(residual, base + i, r);
                    row[i] = r;
                }
            } else {
                for (int i = 0; i < hidden; i++) row[i] = f(residual, base + i);
            }
            float ss = 0;
            for (int i = 0; i < hidden; i++) ss += row[i] * row[i];
            float scale = 1f / (float) Math.sqrt(ss / hidden + eps);
            for (int i = 0; i < hidden; i++) setF(out, base + i, f(weight, i) * (row[i] * scale));
        }
    }

    @Override
    public void biasRopeKvWrite(long qkv, long bias, long positions, long invFreq, long slots, long kCache,
            long vCache, int tokens, int heads, int kvHeads, int headDim, int rotaryDim) {
        int width = (heads + 2 * kvHeads) * headDim;
        long kvWidth = (long) kvHeads * headDim;
        for (int t = 0; t < tokens; t++) {
            float pos = i(positions, t);
            int slot = i(slots, t);
            long row = (long) t * width;
            for (int p = 0; p < width / 2; p++) {
                int c = 2 * p, head = c / headDim, d = c - head * headDim;
                float x0 = f(qkv, row + c), x1 = f(qkv, row + c + 1);
                if (bias != 0) {
                    x0 += f(bias, c);
                    x1 += f(bias, c + 1);
                }
                if (head < heads + kvHeads && d < rotaryDim) {
                    float angle = pos * f(invFreq, d / 2);
                    float s = (float) Math.sin(angle), co = (float) Math.cos(angle);
                    float r0 = x0 * co - x1 * s, r1 = x1 * co + x0 * s;
                    x0 = r0;
                    x1 = r1;
                }
                setF(qkv, row + c, x0);
                setF(qkv, row + c + 1, x1);
                if (slot >= 0 && head >= heads) {
                    boolean isK = head < heads + kvHeads;
                    long at = slot * kvWidth + (long) (head - heads - (isK ? 0 : kvHeads)) * headDim + d;
                    long dst = isK ? kCache : vCache;
                    setF(dst, at, x0);
                    setF(dst, at + 1, x1);
                }
            }
        }
    }

    @Override
    public void attention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long work, long out, long partAcc, long partMl, int workItems, int tokens, int heads, int kvHeads,
            int headDim, int blockSize, int blocksPerSeq, int splits) {
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int bx = 0; bx < workItems; bx++) {
            for (int by = 0; by < kvHeads; by++) {
                for (int bz = 0; bz < splits; bz++) {
                    attentionBlock(qkv, kCache, vCache, blockTables, seqStarts, positions, work, out, partAcc, partMl,
                            heads, kvHeads, headDim, blockSize, blocksPerSeq, splits, scale, bx, by, bz);
                }
            }
        }
        if (splits > 1) {
            for (long row = 0; row < (long) tokens * heads; row++) {
                float m = Float.NEGATIVE_INFINITY;
                for (int s = 0; s < splits; s++) m = Math.max(m, f(partMl, (row * splits + s) * 2));
                float total = 0;
                for (int s = 0; s < splits; s++) {
                    float l = f(partMl, (row * splits + s) * 2 + 1);
                    if (l > 0) total += (float) Math.exp(f(partMl, (row * splits + s) * 2) - m) * l;
                }
                float inv = total > 0 ? 1f / total : 0f;
                for (int d = 0; d < headDim; d++) {
                    float o = 0;
                    for (int s = 0; s < splits; s++) {
                        if (f(partMl, (row * splits + s) * 2 + 1) > 0) {
                            o += (float) Math.exp(f(partMl, (row * splits + s) * 2) - m)
                                    * f(partAcc, (row * splits + s) * headDim + d);
                        }
                    }
                    setF(out, row * headDim + d, o * inv);
                }
            }
        }
    }

    private void attentionBlock(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long work, long out, long partAcc, long partMl, int numHeads, int numKvHeads, int d, int blockSize,
            int maxBlocksPerSeq, int numSplits, float scale, int bx, int kvHead, int split) {
        int group = numHeads / numKvHeads;
        int seq = i(work, 2L * bx), tile = i(work, 2L * bx + 1);
        int tok0 = i(seqStarts, seq);
        int seqRows = (i(seqStarts, seq + 1) - tok0) * group;
        int firstRow = tile * ROWS;
        if (firstRow >= seqRows) return;
        int qkvStride = (numHeads + 2 * numKvHeads) * d;
        float[] qTile = new float[ROWS * d];
        for (int r = 0; r < ROWS; r++) {
            int fr = firstRow + r;
            for (int dd = 0; dd < d; dd++) {
                float q = 0;
                if (fr < seqRows) {
                    int t = tok0 + fr / group, h = kvHead * group + fr % group;
                    q = f(qkv, (long) t * qkvStride + (long) h * d + dd);
                }
                qTile[r * d + dd] = q;
            }
        }
        int lastRow = Math.min(firstRow + ROWS, seqRows) - 1;
        int tileKeys = i(positions, tok0 + lastRow / group) + 1;
        int perSplit = ((tileKeys + numSplits - 1) / numSplits + KEYS - 1) / KEYS * KEYS;
        int kBegin = split * perSplit;
        int kEnd = Math.min(tileKeys, kBegin + perSplit);
        long table = (long) seq * maxBlocksPerSeq;

        for (int warp = 0; warp < WARPS; warp++) {
            float[] m = new float[ROWS_PER_WARP], l = new float[ROWS_PER_WARP];
            float[][][] acc = new float[ROWS_PER_WARP][32][DIMS_PER_LANE];
            int[] visible = new int[ROWS_PER_WARP];
            for (int j = 0; j < ROWS_PER_WARP; j++) {
                m[j] = Float.NEGATIVE_INFINITY;
                int fr = firstRow + warp * ROWS_PER_WARP + j;
                visible[j] = fr < seqRows ? i(positions, tok0 + fr / group) + 1 : 0;
            }
            for (int k0 = kBegin; k0 < kEnd; k0 += KEYS) {
                float[][] kTile = new float[KEYS][d], vTile = new float[KEYS][d];
                for (int j = 0; j < KEYS; j++) {
                    int pos = k0 + j;
                    if (pos >= kEnd) continue;
                    long slot = (long) i(blockTables, table + pos / blockSize) * blockSize + pos % blockSize;
                    for (int dd = 0; dd < d; dd++) {
                        long off = (slot * numKvHeads + kvHead) * d + dd;
                        kTile[j][dd] = f(kCache, off);
                        vTile[j][dd] = f(vCache, off);
                    }
                }
                for (int j = 0; j < ROWS_PER_WARP; j++) {
                    float[] p = new float[32];
                    float tileMax = Float.NEGATIVE_INFINITY;
                    float[] score = new float[32];
                    for (int lane = 0; lane < 32; lane++) {
                        float s = 0;
                        for (int dd = 0; dd < d; dd++) s += qTile[(warp * ROWS_PER_WARP + j) * d + dd] * kTile[lane][dd];
                        int key = k0 + lane;
                        score[lane] = key < kEnd && key < visible[j] ? s * scale : Float.NEGATIVE_INFINITY;
                        tileMax = Math.max(tileMax, score[lane]);
                    }
                    float mNew = Math.max(m[j], tileMax);
                    boolean none = mNew == Float.NEGATIVE_INFINITY;
                    float sum = 0;
                    for (int lane = 0; lane < 32; lane++) {
                        p[lane] = none ? 0f : (float) Math.exp(score[lane] - mNew);
                        sum += p[lane];
                    }
                    float correction = none ? 1f : (float) Math.exp(m[j] - mNew);
                    l[j] = l[j] * correction + sum;
                    for (int lane = 0; lane < 32; lane++) {
                        for (int e = 0; e < DIMS_PER_LANE; e++) {
                            acc[j][lane][e] *= correction;
                            int dd = lane + 32 * e;
                            if (dd < d) {
                                for (int jj = 0; jj < KEYS; jj++) acc[j][lane][e] += p[jj] * vTile[jj][dd];
                            }
                        }
                    }
                    m[j] = mNew;
                }
            }
            for (int j = 0; j < ROWS_PER_WARP; j++) {
                int fr = firstRow + warp * ROWS_PER_WARP + j;
                if (fr >= seqRows) continue;
                long row = (long) (tok0 + fr / group) * numHeads + kvHead * group + fr % group;
                for (int lane = 0; lane < 32; lane++) {
                    for (int e = 0; e < DIMS_PER_LANE; e++) {
                        int dd = lane + 32 * e;
                        if (dd >= d) continue;
                        if (numSplits == 1) {
                            float inv = l[j] > 0 ? 1f / l[j] : 0f;
                            setF(out, row * d + dd, acc[j][lane][e] * inv);
                        } else {
                            setF(partAcc, (row * numSplits + split) * d + dd, acc[j][lane][e]);
                        }
                    }
                }
                if (numSplits > 1) {
                    setF(partMl, 2 * (row * numSplits + split), m[j]);
                    setF(partMl, 2 * (row * numSplits + split) + 1, l[j]);
                }
            }
        }
    }

    /** The dense path's math (repack, batched q kᵀ, causal softmax, batched probs v) on the host. */
    @Override
    public void denseCausalAttention(long qkv, long out, long scratch, int tokens, int heads, int kvHeads,
            int headDim) {
        int width = (heads + 2 * kvHeads) * headDim;
        int group = heads / kvHeads;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int h = 0; h < heads; h++) {
            int kOff = (heads + h / group) * headDim;
            int vOff = (heads + kvHeads + h / group) * headDim;
            for (int q = 0; q < tokens; q++) {
                float[] s = new float[q + 1];
                float mx = Float.NEGATIVE_INFINITY;
                for (int key = 0; key <= q; key++) {
                    float dot = 0;
                    for (int d = 0; d < headDim; d++) {
                        dot += f(qkv, (long) q * width + h * headDim + d) * f(qkv, (long) key * width + kOff + d);
                    }
                    s[key] = dot * scale;
                    mx = Math.max(mx, s[key]);
                }
                float sum = 0;
                for (int key = 0; key <= q; key++) sum += (float) Math.exp(s[key] - mx);
                for (int d = 0; d < headDim; d++) {
                    float o = 0;
                    for (int key = 0; key <= q; key++) {
                        o += (float) Math.exp(s[key] - mx) / sum * f(qkv, (long) key * width + vOff + d);
                    }
                    setF(out, (long) q * heads * headDim + h * headDim + d, o);
                }
            }
        }
    }

    @Override
    public void siluMul(long gateUp, long out, int rows, int inter) {
        for (long i = 0; i < (long) rows * inter; i++) {
            long r = i / inter, c = i - r * inter;
            float g = f(gateUp, r * 2 * inter + c), u = f(gateUp, r * 2 * inter + inter + c);
            setF(out, i, u * (g / (1f + (float) Math.exp(-g))));
        }
    }

    @Override
    public void sample(long logits, int rows, int vocab, long temperature, long topK, long topP, long seeds,
            long steps, long outIds) {
        for (int r = 0; r < rows; r++) {   // greedy only: the sampling kernel's argmax
            int best = 0;
            for (int i = 1; i < vocab; i++) if (f(logits, (long) r * vocab + i) > f(logits, (long) r * vocab + best)) best = i;
            setI(outIds, r, best);
        }
    }
}
