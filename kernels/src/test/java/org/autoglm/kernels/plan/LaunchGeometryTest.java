package org.autoglm.kernels.plan;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LaunchGeometryTest {

    @Test
    void rowKernelsUseAboutFourElementsPerThreadInWholeWarps() {
        assertThat(LaunchGeometry.rowThreads(64)).isEqualTo(32);
        assertThat(LaunchGeometry.rowThreads(2048)).isEqualTo(512);
        assertThat(LaunchGeometry.rowThreads(4096)).isEqualTo(1024);
        assertThat(LaunchGeometry.rowThreads(151552)).isEqualTo(1024);
        assertThat(LaunchGeometry.rowThreads(130)).isEqualTo(64);
    }

    @Test
    void strideGridsFillTheGpuButNoMore() {
        assertThat(LaunchGeometry.strideBlocks(100, 256, 132)).isEqualTo(1);
        assertThat(LaunchGeometry.strideBlocks(257, 256, 132)).isEqualTo(2);
        assertThat(LaunchGeometry.strideBlocks(1L << 32, 256, 132)).isEqualTo(16 * 132);
    }

    @Test
    void attentionTilesCoverEveryTokenHeadRow() {
        assertThat(LaunchGeometry.attentionTiles(1, 16)).isEqualTo(1);
        assertThat(LaunchGeometry.attentionTiles(1, 2)).isEqualTo(1);
        assertThat(LaunchGeometry.attentionTiles(2048, 16)).isEqualTo(2048);
        assertThat(LaunchGeometry.attentionTiles(30, 2)).isEqualTo(4);
    }

    @Test
    void attentionSharedMemoryStaysUnderTheDefault48KiBForHeadDim128() {
        assertThat(LaunchGeometry.attentionSharedBytes(128)).isEqualTo(4 * (32 * 132 + 32 * 128 + 16 * 128));
        assertThat(LaunchGeometry.attentionSharedBytes(128)).isLessThan(48 * 1024);
    }

    @Test
    void decodeSplitsFillTwoWavesWithinLimits() {
        // batch 1 of a 2-KV-head model on 132 SMs: 132 splits wanted, capped at 16
        assertThat(LaunchGeometry.attentionSplits(1, 2, 132, 4096)).isEqualTo(LaunchGeometry.MAX_SPLITS);
        // but never more splits than key tiles
        assertThat(LaunchGeometry.attentionSplits(1, 2, 132, 100)).isEqualTo(4);
        // a large batch fills the GPU on its own
        assertThat(LaunchGeometry.attentionSplits(256, 2, 132, 4096)).isEqualTo(1);
        assertThat(LaunchGeometry.attentionSplits(32, 4, 132, 4096)).isEqualTo(3);
    }

    @Test
    void flashTilesCoverEveryTokenHeadRowOneHundredTwentyEightAtATime() {
        assertThat(LaunchGeometry.flashTiles(1, 16)).isEqualTo(1);
        assertThat(LaunchGeometry.flashTiles(2048, 16)).isEqualTo(256);   // 9B: 8 tokens x 16 heads per tile
        assertThat(LaunchGeometry.flashTiles(65, 2)).isEqualTo(2);
    }

    @Test
    void flashHasAKernelPerServedHeadSizeAndFitsTheSharedMemoryOfEverySm80PlusGpu() {
        assertThat(LaunchGeometry.flashSupports(128)).isTrue();
        assertThat(LaunchGeometry.flashSupports(16)).isTrue();
        assertThat(LaunchGeometry.flashSupports(80)).isFalse();   // no flash_prefill_d80: paged attention instead
        // two stages of K and V: above the 48 KiB default (GlmKernels.prepareAttention opts in), within sm_86's 99 KiB
        assertThat(LaunchGeometry.flashSharedBytes(128)).isEqualTo(2 * 2 * 2 * 64 * 136).isLessThanOrEqualTo(99 * 1024);
    }

    @Test
    void gemvBlocksTakeSixteenOutputRowsEachOrFewerWhenWarpsShareARowPair() {
        assertThat(LaunchGeometry.gemvBlocks(1, 1)).isEqualTo(1);
        assertThat(LaunchGeometry.gemvBlocks(4608, 1)).isEqualTo(288);
        assertThat(LaunchGeometry.gemvBlocks(151552, 1)).isEqualTo(9472);
        assertThat(LaunchGeometry.gemvBlocks(2048, 2)).isEqualTo(256);
        assertThat(LaunchGeometry.gemvBlocks(50, 4)).isEqualTo(13);   // 2 row pairs per block
    }

    @Test
    void narrowGemvsShareEachRowPairAmongAsManyWarpsAsTheGpuHolds() {
        // 132 SMs hold 2 blocks of 8 warps each: 2112 warps
        assertThat(LaunchGeometry.gemvParts(2048, 132)).isEqualTo(2);    // 1.5B o_proj, down_proj: 1024 pairs
        assertThat(LaunchGeometry.gemvParts(1056, 132)).isEqualTo(4);
        assertThat(LaunchGeometry.gemvParts(3072, 132)).isEqualTo(1);    // 1.5B qkv: 1536 pairs
        assertThat(LaunchGeometry.gemvParts(4096, 132)).isEqualTo(1);    // 9B o_proj
        assertThat(LaunchGeometry.gemvParts(151552, 132)).isEqualTo(1);
    }

    @Test
    void gemvGridStopsAtTheBlocksThatAreResidentAtOnce() {
        assertThat(LaunchGeometry.gemvGrid(2048, 1, 132)).isEqualTo(128);   // 1.5B o_proj: a block per 16 rows
        assertThat(LaunchGeometry.gemvGrid(2048, 2, 132)).isEqualTo(256);   // sliced: a block per 8 rows
        assertThat(LaunchGeometry.gemvGrid(12288, 1, 132)).isEqualTo(264);   // gate_up: 768 blocks' rows in 264
        assertThat(LaunchGeometry.gemvGrid(151552, 1, 132)).isEqualTo(264);
    }

    @Test
    void decodeAttentionChunksFitTheSharedMemoryOfEverySm80PlusGpuForGqaGroupsUpTo16() {
        // glm-4-9b (group 16, head dim 128): bf16 chunks of 128 keys, fp32 chunks of 64; 4 warps, a row each
        int bf16 = LaunchGeometry.decodeSharedBytes(128, 2, 16, LaunchGeometry.decodeChunkKeys(2), 4);
        int fp32 = LaunchGeometry.decodeSharedBytes(128, 4, 16, LaunchGeometry.decodeChunkKeys(4), 4);
        // K rows padded from 16 to 20 pieces of 16 bytes (two keys read together start 4 banks apart), V rows as
        // stored, then q, scores, the rows' rescaling and slots
        assertThat(bf16).isEqualTo(16 * 128 * (20 + 16) + 4 * 16 * 128 + 4 * 16 * 128 + 4 * 16 + 4 * 128)
                .isLessThanOrEqualTo(99 * 1024);
        assertThat(fp32).isEqualTo(16 * 64 * (36 + 32) + 4 * 16 * 128 + 4 * 16 * 64 + 4 * 16 + 4 * 64)
                .isLessThanOrEqualTo(99 * 1024);
        // the fixtures' head dim 16 in bf16: rows of 2 pieces padded to 4
        assertThat(LaunchGeometry.decodeSharedBytes(16, 2, 2, 128, 4)).isEqualTo(16 * 128 * (4 + 2) + 4 * 2 * 16
                + 4 * 2 * 128 + 4 * 2 * 2 * 16 + 4 * 2 + 4 * 128);
        // 16 warps on glm-edge-1.5b's group of 4: each row's 4 warps keep their p v sums (4 x 128 floats a row)
        assertThat(LaunchGeometry.decodeWarpsPerRow(4, 16)).isEqualTo(4);
        assertThat(LaunchGeometry.decodeWarpsPerRow(16, 4)).isEqualTo(1);
        assertThat(LaunchGeometry.decodeWarpsPerRow(3, 16)).isEqualTo(5);
        assertThat(LaunchGeometry.decodeSharedBytes(128, 2, 4, 128, 16)).isEqualTo(16 * 128 * (20 + 16)
                + 4 * 4 * 128 + 4 * 4 * 128 + 4 * 4 * 4 * 128 + 4 * 4 + 4 * 128);
        assertThat(LaunchGeometry.decodeMaxSharedBytes(128, 2, 4, 16)).isLessThanOrEqualTo(99 * 1024);
        assertThat(LaunchGeometry.decodeMaxSharedBytes(128, 4, 4, 16)).isLessThanOrEqualTo(99 * 1024)
                .isGreaterThanOrEqualTo(LaunchGeometry.decodeMaxSharedBytes(128, 4, 4, 4));
    }

    @Test
    void aDecodeLaunchsChunkHoldsNoMoreKeysThanOneSplitOfTheWidestContext() {
        assertThat(LaunchGeometry.decodeChunkKeys(2, 256, 16)).isEqualTo(16);    // 16 keys per split
        assertThat(LaunchGeometry.decodeChunkKeys(2, 256, 5)).isEqualTo(64);     // 52 keys, rounded up to 16s
        assertThat(LaunchGeometry.decodeChunkKeys(2, 4096, 4)).isEqualTo(128);   // the whole chunk, no more
        assertThat(LaunchGeometry.decodeChunkKeys(4, 4096, 1)).isEqualTo(64);
        assertThat(LaunchGeometry.decodeChunkKeys(2, 3, 1)).isEqualTo(16);
    }

    @Test
    void decodeAttentionSplitsTheWorkOfSmallBatchesButNeverBeyondTwoWaves() {
        // batch 1, the bench's graph bucket of 256 keys: 1.5B (4 KV heads, group 4), 9B (2 KV heads, group 16)
        assertThat(LaunchGeometry.decodeSplits(1, 4, 4, 256, 132, 256)).isEqualTo(4);
        assertThat(LaunchGeometry.decodeSplits(1, 2, 16, 256, 132, 256)).isEqualTo(LaunchGeometry.MAX_SPLITS);
        assertThat(LaunchGeometry.decodeSplits(1, 4, 4, 40, 132, 256)).isEqualTo(1);   // a short context: no merge
        // batch 64 of the 1.5B: 256 blocks already make two waves
        assertThat(LaunchGeometry.decodeSplits(64, 4, 4, 256, 132, 256)).isEqualTo(1);
        assertThat(LaunchGeometry.decodeSplits(8, 4, 4, 4096, 132, 256)).isEqualTo(8);   // 32 blocks: 8 splits fill
    }

    @Test
    void addRmsnormTakesAThreadPerSixteenElementsInWholeWarps() {
        assertThat(LaunchGeometry.normThreads(64)).isEqualTo(32);
        assertThat(LaunchGeometry.normThreads(2048)).isEqualTo(128);
        assertThat(LaunchGeometry.normThreads(4096)).isEqualTo(256);
        assertThat(LaunchGeometry.normThreads(4104)).isEqualTo(288);
        assertThat(LaunchGeometry.normThreads(LaunchGeometry.MAX_NORM_ROW)).isEqualTo(1024);   // 4 float4s each
    }
}
