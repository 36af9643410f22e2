package org.autoglm.kernels.plan;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GraphBucketsTest {

    @Test
    void batchesRoundUpToPowersOfTwoAndTheMaximum() {
        assertThat(GraphBuckets.batchSizes(256)).containsExactly(1, 2, 4, 8, 16, 32, 64, 128, 256);
        assertThat(GraphBuckets.batchSizes(48)).containsExactly(1, 2, 4, 8, 16, 32, 48);
        assertThat(GraphBuckets.batchBucket(1, 256)).isEqualTo(1);
        assertThat(GraphBuckets.batchBucket(5, 256)).isEqualTo(8);
        assertThat(GraphBuckets.batchBucket(33, 48)).isEqualTo(48);
        assertThat(GraphBuckets.batchBucket(49, 48)).isEqualTo(-1);
        assertThat(GraphBuckets.batchBucket(0, 48)).isEqualTo(-1);
    }

    @Test
    void blockTablesRoundUpWithAFloorAndTheModelLengthCap() {
        assertThat(GraphBuckets.blockBucket(1, 1024)).isEqualTo(GraphBuckets.MIN_BLOCKS);
        assertThat(GraphBuckets.blockBucket(9, 1024)).isEqualTo(16);
        assertThat(GraphBuckets.blockBucket(600, 1000)).isEqualTo(1000);
        assertThat(GraphBuckets.blockBucket(1001, 1000)).isEqualTo(-1);
        assertThat(GraphBuckets.key(3, 20, 256, 4096)).isEqualTo(new GraphBuckets.Key(4, 32));
        assertThat(GraphBuckets.key(300, 20, 256, 4096)).isNull();
    }
}
