package org.autoglm.kernels.cpu;

import static org.autoglm.kernels.cpu.VectorKernels.F;
import static org.autoglm.kernels.cpu.VectorKernels.L;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Prefill's GEMM, with the tokens in the vector lanes (the layout of BLIS-style micro-kernels). The activations come
 * transposed, {@code [chunk of CHUNK tokens][column][token]} ({@link #offset}, {@link VectorKernels#permute} with
 * stride {@link #CHUNK}, the last chunk padded with zeros); the weights are widened to floats a
 * tile of {@link #TILE_ROWS} rows by {@link #K_BLOCK} columns at a time (as {@link TileGemm} does), and each widened
 * weight is broadcast to a vector and multiplied with a chunk's four vectors of tokens, six rows at once: 24 running
 * sums in registers, 6 broadcasts and 4 loads per 24 multiply-adds, and no sums across lanes at the end (the
 * dot-product layout of {@link TileGemm} has 8 loads per 16 multiply-adds and reduces every row-token pair's vector).
 * A tile (12 KB) and a chunk's activations of its columns (32 KB) stay in L1 while the tile's rows pass over them.
 */
final class LaneGemm {

    /** Tokens of one transposed chunk: four vectors. */
    static final int CHUNK = 4 * L;
    /** Rows of one register block. */
    private static final int ROWS = 6;
    /** Rows widened at once. */
    static final int TILE_ROWS = 4 * ROWS;
    /** Columns widened at once: a multiple of every type's chunk. */
    static final int K_BLOCK = 128;

    private LaneGemm() {}

    /** Floats of the transposed activations of {@code tokens} rows of {@code cols}. */
    static int transposedLength(int tokens, int cols) {
        return (tokens + CHUNK - 1) / CHUNK * CHUNK * cols;
    }

    /** Where token {@code t}'s column 0 sits in the transposed layout; its column k is {@code CHUNK * k} further. */
    static int offset(int t, int cols) {
        return (t / CHUNK) * cols * CHUNK + t % CHUNK;
    }

    /** Zeroes the tokens past {@code tokens} in the last chunk of {@code xt}. */
    static void zeroPadding(int tokens, int cols, float[] xt) {
        for (int t = tokens; t % CHUNK != 0; t++) {
            int base = offset(t, cols);
            for (int k = 0; k < cols; k++) {
                xt[base + k * CHUNK] = 0f;
            }
        }
    }

    /**
     * Slab rows {@code [local, local + count)} against {@code tokens} transposed activations {@code xt}; the sum
     * for slab row {@code local + i} and token t goes to {@code out[o + t * os + i]}.
     */
    static void multiply(WeightType type, WeightMatrix.Slab s, int local, int count, int cols, float[] xt, int tokens,
                         float[] out, int o, int os, Scratch scratch) {
        int vc = VectorKernels.vectorCols(type, cols);
        int chunks = (tokens + CHUNK - 1) / CHUNK;
        float[] tile = scratch.tile(TILE_ROWS * K_BLOCK);
        float[] scales = scratch.scales(cols);
        float[] part = scratch.partials(chunks * TILE_ROWS * CHUNK);
        for (int r0 = 0; r0 < count; r0 += TILE_ROWS) {
            int n = Math.min(TILE_ROWS, count - r0);
            int blocked = (n + ROWS - 1) / ROWS * ROWS;
            Arrays.fill(part, 0, chunks * TILE_ROWS * CHUNK, 0f);
            Arrays.fill(tile, n * K_BLOCK, blocked * K_BLOCK, 0f);
            for (int k0 = 0; k0 < vc; k0 += K_BLOCK) {
                int kn = Math.min(K_BLOCK, vc - k0);
                for (int i = 0; i < n; i++) {
                    TileGemm.widen(type, s, local + r0 + i, cols, k0, kn, tile, i * K_BLOCK, scales);
                }
                for (int chunk = 0; chunk < chunks; chunk++) {
                    registerBlocks(tile, blocked, xt, (chunk * cols + k0) * CHUNK, kn,
                            Math.min(CHUNK, tokens - chunk * CHUNK), part, chunk * TILE_ROWS * CHUNK);
                }
            }
            // token by token, so that each token's sums go out as one run (row by row, every store of a tile landed
            // on another line of an output of megabytes)
            for (int t = 0; t < tokens; t++) {
                int x = offset(t, cols);
                int p = (t / CHUNK) * TILE_ROWS * CHUNK + t % CHUNK;
                for (int i = 0; i < n; i++) {
                    float sum = part[p + i * CHUNK];
                    for (int c = vc; c < cols; c++) {
                        sum += VectorKernels.weight(type, s.data(), s.scales(), local + r0 + i, cols, c)
                                * xt[x + c * CHUNK];
                    }
                    out[o + t * os + r0 + i] = sum;
                }
            }
        }
    }

    /**
     * The tile's {@code blocked} rows, {@link #ROWS} at a time, against one chunk of {@code nt} tokens at
     * {@code xt[x ..]}, {@code kn} columns; adds to the chunk's partial sums at {@code part[p ..]}. A full chunk takes
     * the four-vector kernel; the last chunk's remainder two vectors, then one, at a time.
     */
    private static void registerBlocks(float[] tile, int blocked, float[] xt, int x, int kn, int nt, float[] part,
                                       int p) {
        for (int i = 0; i < blocked; i += ROWS) {
            int w = i * K_BLOCK;
            int pi = p + i * CHUNK;
            if (nt > 3 * L) {
                fourVectors(tile, w, xt, x, kn, part, pi);
                continue;
            }
            int v = 0;
            for (; v + L < nt; v += 2 * L) {
                twoVectors(tile, w, xt, x + v, kn, part, pi + v);
            }
            if (v < nt) {
                oneVector(tile, w, xt, x + v, kn, part, pi + v);
            }
        }
    }

    /**
     * Six tile rows from {@code tile[w ..]} (rows {@link #K_BLOCK} apart) against a chunk's four token vectors,
     * {@code kn} columns; adds to the partial sums at {@code part[p ..]} (rows {@link #CHUNK} apart).
     */
    private static void fourVectors(float[] tile, int w, float[] xt, int x, int kn, float[] part, int p) {
        final int c = CHUNK;
        FloatVector a00 = FloatVector.fromArray(F, part, p);
        FloatVector a01 = FloatVector.fromArray(F, part, p + L);
        FloatVector a02 = FloatVector.fromArray(F, part, p + 2 * L);
        FloatVector a03 = FloatVector.fromArray(F, part, p + 3 * L);
        FloatVector a10 = FloatVector.fromArray(F, part, p + c);
        FloatVector a11 = FloatVector.fromArray(F, part, p + c + L);
        FloatVector a12 = FloatVector.fromArray(F, part, p + c + 2 * L);
        FloatVector a13 = FloatVector.fromArray(F, part, p + c + 3 * L);
        FloatVector a20 = FloatVector.fromArray(F, part, p + 2 * c);
        FloatVector a21 = FloatVector.fromArray(F, part, p + 2 * c + L);
        FloatVector a22 = FloatVector.fromArray(F, part, p + 2 * c + 2 * L);
        FloatVector a23 = FloatVector.fromArray(F, part, p + 2 * c + 3 * L);
        FloatVector a30 = FloatVector.fromArray(F, part, p + 3 * c);
        FloatVector a31 = FloatVector.fromArray(F, part, p + 3 * c + L);
        FloatVector a32 = FloatVector.fromArray(F, part, p + 3 * c + 2 * L);
        FloatVector a33 = FloatVector.fromArray(F, part, p + 3 * c + 3 * L);
        FloatVector a40 = FloatVector.fromArray(F, part, p + 4 * c);
        FloatVector a41 = FloatVector.fromArray(F, part, p + 4 * c + L);
        FloatVector a42 = FloatVector.fromArray(F, part, p + 4 * c + 2 * L);
        FloatVector a43 = FloatVector.fromArray(F, part, p + 4 * c + 3 * L);
        FloatVector a50 = FloatVector.fromArray(F, part, p + 5 * c);
        FloatVector a51 = FloatVector.fromArray(F, part, p + 5 * c + L);
        FloatVector a52 = FloatVector.fromArray(F, part, p + 5 * c + 2 * L);
        FloatVector a53 = FloatVector.fromArray(F, part, p + 5 * c + 3 * L);
        for (int k = 0; k < kn; k++) {
            int xo = x + k * c;
            FloatVector x0 = FloatVector.fromArray(F, xt, xo);
            FloatVector x1 = FloatVector.fromArray(F, xt, xo + L);
            FloatVector x2 = FloatVector.fromArray(F, xt, xo + 2 * L);
            FloatVector x3 = FloatVector.fromArray(F, xt, xo + 3 * L);
            FloatVector b0 = FloatVector.broadcast(F, tile[w + k]);
            a00 = b0.fma(x0, a00);
            a01 = b0.fma(x1, a01);
            a02 = b0.fma(x2, a02);
            a03 = b0.fma(x3, a03);
            FloatVector b1 = FloatVector.broadcast(F, tile[w + K_BLOCK + k]);
            a10 = b1.fma(x0, a10);
            a11 = b1.fma(x1, a11);
            a12 = b1.fma(x2, a12);
            a13 = b1.fma(x3, a13);
            FloatVector b2 = FloatVector.broadcast(F, tile[w + 2 * K_BLOCK + k]);
            a20 = b2.fma(x0, a20);
            a21 = b2.fma(x1, a21);
            a22 = b2.fma(x2, a22);
            a23 = b2.fma(x3, a23);
            FloatVector b3 = FloatVector.broadcast(F, tile[w + 3 * K_BLOCK + k]);
            a30 = b3.fma(x0, a30);
            a31 = b3.fma(x1, a31);
            a32 = b3.fma(x2, a32);
            a33 = b3.fma(x3, a33);
            FloatVector b4 = FloatVector.broadcast(F, tile[w + 4 * K_BLOCK + k]);
            a40 = b4.fma(x0, a40);
            a41 = b4.fma(x1, a41);
            a42 = b4.fma(x2, a42);
            a43 = b4.fma(x3, a43);
            FloatVector b5 = FloatVector.broadcast(F, tile[w + 5 * K_BLOCK + k]);
            a50 = b5.fma(x0, a50);
            a51 = b5.fma(x1, a51);
            a52 = b5.fma(x2, a52);
            a53 = b5.fma(x3, a53);
        }
        a00.intoArray(part, p);
        a01.intoArray(part, p + L);
        a02.intoArray(part, p + 2 * L);
        a03.intoArray(part, p + 3 * L);
        a10.intoArray(part, p + c);
        a11.intoArray(part, p + c + L);
        a12.intoArray(part, p + c + 2 * L);
        a13.intoArray(part, p + c + 3 * L);
        a20.intoArray(part, p + 2 * c);
        a21.intoArray(part, p + 2 * c + L);
        a22.intoArray(part, p + 2 * c + 2 * L);
        a23.intoArray(part, p + 2 * c + 3 * L);
        a30.intoArray(part, p + 3 * c);
        a31.intoArray(part, p + 3 * c + L);
        a32.intoArray(part, p + 3 * c + 2 * L);
        a33.intoArray(part, p + 3 * c + 3 * L);
        a40.intoArray(part, p + 4 * c);
        a41.intoArray(part, p + 4 * c + L);
        a42.intoArray(part, p + 4 * c + 2 * L);
        a43.intoArray(part, p + 4 * c + 3 * L);
        a50.intoArray(part, p + 5 * c);
        a51.intoArray(part, p + 5 * c + L);
        a52.intoArray(part, p + 5 * c + 2 * L);
        a53.intoArray(part, p + 5 * c + 3 * L);
    }

    /** As {@link #fourVectors} for two vectors of tokens (in the last chunk). */
    private static void twoVectors(float[] tile, int w, float[] xt, int x, int kn, float[] part, int p) {
        final int c = CHUNK;
        FloatVector a00 = FloatVector.fromArray(F, part, p);
        FloatVector a01 = FloatVector.fromArray(F, part, p + L);
        FloatVector a10 = FloatVector.fromArray(F, part, p + c);
        FloatVector a11 = FloatVector.fromArray(F, part, p + c + L);
        FloatVector a20 = FloatVector.fromArray(F, part, p + 2 * c);
        FloatVector a21 = FloatVector.fromArray(F, part, p + 2 * c + L);
        FloatVector a30 = FloatVector.fromArray(F, part, p + 3 * c);
        FloatVector a31 = FloatVector.fromArray(F, part, p + 3 * c + L);
        FloatVector a40 = FloatVector.fromArray(F, part, p + 4 * c);
        FloatVector a41 = FloatVector.fromArray(F, part, p + 4 * c + L);
        FloatVector a50 = FloatVector.fromArray(F, part, p + 5 * c);
        FloatVector a51 = FloatVector.fromArray(F, part, p + 5 * c + L);
        for (int k = 0; k < kn; k++) {
            int xo = x + k * c;
            FloatVector x0 = FloatVector.fromArray(F, xt, xo);
            FloatVector x1 = FloatVector.fromArray(F, xt, xo + L);
            FloatVector b0 = FloatVector.broadcast(F, tile[w + k]);
            a00 = b0.fma(x0, a00);
            a01 = b0.fma(x1, a01);
            FloatVector b1 = FloatVector.broadcast(F, tile[w + K_BLOCK + k]);
            a10 = b1.fma(x0, a10);
            a11 = b1.fma(x1, a11);
            FloatVector b2 = FloatVector.broadcast(F, tile[w + 2 * K_BLOCK + k]);
            a20 = b2.fma(x0, a20);
            a21 = b2.fma(x1, a21);
            FloatVector b3 = FloatVector.broadcast(F, tile[w + 3 * K_BLOCK + k]);
            a30 = b3.fma(x0, a30);
            a31 = b3.fma(x1, a31);
            FloatVector b4 = FloatVector.broadcast(F, tile[w + 4 * K_BLOCK + k]);
            a40 = b4.fma(x0, a40);
            a41 = b4.fma(x1, a41);
            FloatVector b5 = FloatVector.broadcast(F, tile[w + 5 * K_BLOCK + k]);
            a50 = b5.fma(x0, a50);
            a51 = b5.fma(x1, a51);
        }
        a00.intoArray(part, p);
        a01.intoArray(part, p + L);
        a10.intoArray(part, p + c);
        a11.intoArray(part, p + c + L);
        a20.intoArray(part, p + 2 * c);
        a21.intoArray(part, p + 2 * c + L);
        a30.intoArray(part, p + 3 * c);
        a31.intoArray(part, p + 3 * c + L);
        a40.intoArray(part, p + 4 * c);
        a41.intoArray(part, p + 4 * c + L);
        a50.intoArray(part, p + 5 * c);
        a51.intoArray(part, p + 5 * c + L);
    }

    /** As {@link #fourVectors} for one vector of tokens (in the last chunk). */
    private static void oneVector(float[] tile, int w, float[] xt, int x, int kn, float[] part, int p) {
        final int c = CHUNK;
        FloatVector a00 = FloatVector.fromArray(F, part, p);
        FloatVector a10 = FloatVector.fromArray(F, part, p + c);
        FloatVector a20 = FloatVector.fromArray(F, part, p + 2 * c);
        FloatVector a30 = FloatVector.fromArray(F, part, p + 3 * c);
        FloatVector a40 = FloatVector.fromArray(F, part, p + 4 * c);
        FloatVector a50 = FloatVector.fromArray(F, part, p + 5 * c);
        for (int k = 0; k < kn; k++) {
            FloatVector x0 = FloatVector.fromArray(F, xt, x + k * c);
            FloatVector b0 = FloatVector.broadcast(F, tile[w + k]);
            a00 = b0.fma(x0, a00);
            FloatVector b1 = FloatVector.broadcast(F, tile[w + K_BLOCK + k]);
            a10 = b1.fma(x0, a10);
            FloatVector b2 = FloatVector.broadcast(F, tile[w + 2 * K_BLOCK + k]);
            a20 = b2.fma(x0, a20);
            FloatVector b3 = FloatVector.broadcast(F, tile[w + 3 * K_BLOCK + k]);
            a30 = b3.fma(x0, a30);
            FloatVector b4 = FloatVector.broadcast(F, tile[w + 4 * K_BLOCK + k]);
            a40 = b4.fma(x0, a40);
            FloatVector b5 = FloatVector.broadcast(F, tile[w + 5 * K_BLOCK + k]);
            a50 = b5.fma(x0, a50);
        }
        a00.intoArray(part, p);
        a10.intoArray(part, p + c);
        a20.intoArray(part, p + 2 * c);
        a30.intoArray(part, p + 3 * c);
        a40.intoArray(part, p + 4 * c);
        a50.intoArray(part, p + 5 * c);
    }
}
