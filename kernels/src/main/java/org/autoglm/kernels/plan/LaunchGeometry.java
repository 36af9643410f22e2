package org.autoglm.kernels.plan;

/**
 * Grid and block sizes of our kernels, and the constants they share with the CUDA sources (keep in sync with
 * {@code attention.cu}: WARPS, ROWS, KEYS, DIMS_PER_LANE, MAX_SPLITS).
 */
public final class LaunchGeometry {

    /** Query rows (token, head) per attention block. */
    public static final int ATTENTION_ROWS = 16;
    /** Keys per shared-memory tile in attention. */
    public static final int ATTENTION_KEYS = 32;
    public static final int ATTENTION_THREADS = 128;
    /** Largest head_dim the attention kernel handles (4 dims per lane). */
    public static final int MAX_HEAD_DIM = 128;
    /** Most key splits of one sequence in split-K decode (attention.cu's MAX_SPLITS; at most 32: a lane each). */
    public static final int MAX_SPLITS = 16;
    public static final int SAMPLING_THREADS = 1024;
    /** flash_prefill_d{D} (keep in sync with flash_attention.cu): query rows per block, keys per tile, row padding. */
    public static final int FLASH_ROWS = 128;
    public static final int FLASH_KEYS = 64;
    public static final int FLASH_THREADS = 256;
    public static final int FLASH_PAD = 8;
    private LaunchGeometry() {}

    /** Threads for a one-row-per-block kernel over {@code width} elements: ~4 elements each, 32..1024. */
    public static int rowThreads(int width) {
        int t = ((width + 3) / 4 + 31) / 32 * 32;
        return Math.max(32, Math.min(1024, t));
    }

    /** Longest row add_rmsnorm holds (rmsnorm.cu: four float4s per thread, at most 1024 threads). */
    public static final int MAX_NORM_ROW = 16384;

    /** Threads of add_rmsnorm for a row of {@code hidden} (≤ MAX_NORM_ROW): about one per 16 elements, 32..1024. */
    public static int normThreads(int hidden) {
        int t = ((hidden + 15) / 16 + 31) / 32 * 32;
        return Math.max(32, Math.min(1024, t));
    }

    /** Blocks for a grid-stride kernel over {@code n} elements: enough to fill the GPU, no more than needed. */
    public static int strideBlocks(long n, int threads, int multiprocessors) {
        long needed = (n + threads - 1) / threads;
        return (int) Math.max(1, Math.min(needed, 16L * multiprocessors));
    }

    /** Work items (tiles of ATTENTION_ROWS rows) for a sequence chunk of {@code tokens} tokens. */
    public static int attentionTiles(int tokens, int group) {
        return (tokens * group + ATTENTION_ROWS - 1) / ATTENTION_ROWS;
    }

    /** Floats of padding per K-tile row in paged_attention (keeps float4 reads aligned and conflict-free). */
    public static final int ATTENTION_K_PAD = 4;
    /** head_dim must be a multiple of this: the attention kernel loads the cache 16 bytes (8 bf16) at a time. */
    public static final int HEAD_DIM_MULTIPLE = 8;

    /** Dynamic shared memory of paged_attention: K tile (padded), V tile, Q tile, all fp32. */
    public static int attentionSharedBytes(int headDim) {
        return 4 * (ATTENTION_KEYS * (headDim + ATTENTION_K_PAD) + ATTENTION_KEYS * headDim
                + ATTENTION_ROWS * headDim);
    }

    /**
     * Key splits for decode: enough blocks for two waves over the GPU, at most MAX_SPLITS, and no more splits
     * than key tiles in the longest context.
     */
    public static int attentionSplits(int workItems, int kvHeads, int multiprocessors, int maxKeys) {
        int blocks = Math.max(1, workItems * kvHeads);
        int splits = (2 * multiprocessors + blocks - 1) / blocks;
        int tiles = Math.max(1, (maxKeys + ATTENTION_KEYS - 1) / ATTENTION_KEYS);
        return Math.max(1, Math.min(Math.min(splits, MAX_SPLITS), tiles));
    }

    /** decode_attention's warps per block (attention.cu; keep in sync: DA_MIN_WARPS, DA_MAX_WARPS). */
    public static final int DECODE_MIN_WARPS = 4;
    public static final int DECODE_MAX_WARPS = 16;
    /** Most query heads per KV head decode_attention holds (one block per GQA group). */
    public static final int DECODE_MAX_GROUP = 16;
    private static final int DECODE_KEY_THREADS = 4;

    /**
     * Keys per shared-memory chunk of decode_attention: 128 in bf16, 64 in fp32. At head_dim 128 and a GQA group
     * of 16 that is 89 or 80 KiB, under the 99 KiB every sm_80+ GPU allows a block.
     */
    public static int decodeChunkKeys(int elementBytes) {
        return elementBytes == 2 ? 128 : 64;
    }

    /**
     * The chunk a launch uses: no more keys than a split of the widest context holds (rounded up to 16), so that a
     * short context's blocks ask for the shared memory they use, not a whole chunk's (the kernel's time is spent in
     * its chain of steps, not in the copy, but a smaller request leaves room for more blocks per SM).
     */
    public static int decodeChunkKeys(int elementBytes, int maxKeys, int splits) {
        int perSplit = (maxKeys + splits - 1) / Math.max(1, splits);
        return Math.max(16, Math.min(decodeChunkKeys(elementBytes), (perSplit + 15) / 16 * 16));
    }

    /** decode_attention's warps per row in p v: every warp beyond the group's rows shares a row's keys. */
    public static int decodeWarpsPerRow(int group, int warps) {
        return warps > group ? warps / group : 1;
    }

    /**
     * Dynamic shared memory of decode_attention: a chunk's K rows (padded so that the keys read together start on
     * different banks) and V rows as the cache stores them, q and the scores in fp32, the p v sums of the warps that
     * share a row (fp32), each row's rescaling, and the chunk's cache slots.
     */
    public static int decodeSharedBytes(int headDim, int elementBytes, int group, int chunkKeys, int warps) {
        int pieces = headDim * elementBytes / 16;   // 16-byte pieces per cache row
        int kStride = pieces + Math.floorMod(DECODE_KEY_THREADS - pieces, 8);
        int wpr = decodeWarpsPerRow(group, warps);
        int sums = wpr > 1 ? 4 * group * wpr * headDim : 0;
        return 16 * chunkKeys * (kStride + pieces) + 4 * group * headDim + 4 * group * chunkKeys + sums + 4 * group
                + 4 * chunkKeys;
    }

    /**
     * The most {@link #decodeSharedBytes} a launch asks for with any GQA group up to DECODE_MAX_GROUP and
     * {@code fromWarps} to {@code toWarps} warps.
     */
    public static int decodeMaxSharedBytes(int headDim, int elementBytes, int fromWarps, int toWarps) {
        int most = 0;
        for (int warps = fromWarps; warps <= toWarps; warps++) {
            for (int group = 1; group <= DECODE_MAX_GROUP; group++) {
                most = Math.max(most, decodeSharedBytes(headDim, elementBytes, group, decodeChunkKeys(elementBytes),
                        warps));
            }
        }
        return most;
    }

    /**
     * Key splits for decode_attention: about {@code keyRowsPerSplit} (key, query head) pairs of the longest context
     * per block, so that a block's scores and p v stay short; but no more blocks than two waves over the GPU (a
     * large batch fills it without splits, and every split beyond one costs a merge); at most MAX_SPLITS.
     */
    public static int decodeSplits(int seqs, int kvHeads, int group, int maxKeys, int multiprocessors,
            int keyRowsPerSplit) {
        int fill = Math.max(1, 2 * multiprocessors / Math.max(1, seqs * kvHeads));
        long work = ((long) maxKeys * group + keyRowsPerSplit - 1) / keyRowsPerSplit;
        return (int) Math.max(1, Math.min(Math.min(fill, work), MAX_SPLITS));
    }

    /** gemv.cu: warps per block and output rows per warp (keep in sync). */
    public static final int GEMV_WARPS = 8;
    public static final int GEMV_ROWS = 2;
    /** Most dynamic shared memory a kernel gets without opting in. */
    public static final int DEFAULT_SHARED_LIMIT = 48 * 1024;

    /** Blocks resident per SM that gemv.cu's registers allow (its GEMV_MIN_BLOCKS). */
    public static final int GEMV_BLOCKS_PER_SM = 2;

    /** Blocks of gemv.cu for {@code out} output rows at one row pair per {@code parts} warps. */
    public static int gemvBlocks(int out, int parts) {
        int perBlock = GEMV_WARPS / parts * GEMV_ROWS;
        return (out + perBlock - 1) / perBlock;
    }

    /**
     * The grid of gemv.cu's kernels: a block per 16 rows (8 or 4 with 2 or 4 parts), but no more blocks than are
     * resident at once (the warps then walk further row pairs, so x is staged once per block and the loads stream
     * without a second wave).
     */
    public static int gemvGrid(int out, int parts, int multiprocessors) {
        return Math.min(gemvBlocks(out, parts), GEMV_BLOCKS_PER_SM * multiprocessors);
    }

    /**
     * Warps per row pair in gemv.cu: 4 or 2 when that many still leave every warp one pair at most (the GPU holds
     * GEMV_WARPS x GEMV_BLOCKS_PER_SM warps per SM), else 1. A narrow projection then has more loads in flight and
     * fewer batches in a row per warp: glm-edge-1.5b's o_proj and down_proj (2048 rows) get 2 on 132 SMs.
     */
    public static int gemvParts(int out, int multiprocessors) {
        long resident = (long) GEMV_WARPS * GEMV_BLOCKS_PER_SM * multiprocessors;
        long pairs = (out + GEMV_ROWS - 1) / GEMV_ROWS;
        for (int parts = 4; parts > 1; parts /= 2) {
            if (pairs * parts <= resident) return parts;
        }
        return 1;
    }

    /** Head sizes with a flash_prefill_d{D} kernel (the loops over D must unroll to keep fragments in registers). */
    public static final java.util.List<Integer> FLASH_HEAD_DIMS = java.util.List.of(16, 32, 64, 96, 128);

    /** Whether flash_prefill has a kernel for {@code headDim}. */
    public static boolean flashSupports(int headDim) {
        return FLASH_HEAD_DIMS.contains(headDim);
    }

    /** Flash-attention work items (tiles of FLASH_ROWS (token, head) rows) for a chunk of {@code tokens} tokens. */
    public static int flashTiles(int tokens, int group) {
        return (tokens * group + FLASH_ROWS - 1) / FLASH_ROWS;
    }

    /** Dynamic shared memory of flash_prefill: two stages of K and V tiles in bf16, padded rows. */
    public static int flashSharedBytes(int headDim) {
        return 2 * 2 * 2 * FLASH_KEYS * (headDim + FLASH_PAD);
    }
}
