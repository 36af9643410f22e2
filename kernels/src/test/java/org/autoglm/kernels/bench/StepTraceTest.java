package org.autoglm.kernels.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reading the kernels' step timeline (trace_mark in common.cuh) into per-kind, per-mark block times. */
class StepTraceTest {

    private static void put(long[] trace, int kind, int block, int mark, long ns) {
        trace[(kind * StepTrace.BLOCKS + block) * StepTrace.MARKS + mark] = ns;
    }

    @Test
    @SuppressWarnings("unchecked")
    void givesFirstMedianAndLastBlockPerMarkFromTheEarliestMark() {
        long[] trace = new long[StepTrace.KINDS.length * StepTrace.BLOCKS * StepTrace.MARKS];
        long t0 = 5_000_000_000L;
        put(trace, 1, 0, 0, t0);                 // qkv: three blocks enter at 0, 1 and 4 µs
        put(trace, 1, 1, 0, t0 + 1_000);
        put(trace, 1, 2, 0, t0 + 4_000);
        put(trace, 1, 0, 7, t0 + 9_500);         // and one has exited
        put(trace, 2, 5, 1, t0 + 12_250);        // attention: block 5 past its wait

        Map<String, Object> summary = StepTrace.summarize(trace);

        assertThat(summary).containsOnlyKeys("qkv", "attention");
        Map<String, Object> qkv = (Map<String, Object>) summary.get("qkv");
        assertThat(qkv).containsOnlyKeys("mark0", "mark7");
        assertThat(qkv.get("mark0")).isEqualTo("0.00 / 1.00 / 4.00 (3 blocks)");
        assertThat(qkv.get("mark7")).isEqualTo("9.50 / 9.50 / 9.50 (1 blocks)");
        assertThat(((Map<String, Object>) summary.get("attention")).get("mark1"))
                .isEqualTo("12.25 / 12.25 / 12.25 (1 blocks)");
    }

    @Test
    void isEmptyWithoutATrace() {
        assertThat(StepTrace.summarize(new long[0])).isEmpty();
    }
}
