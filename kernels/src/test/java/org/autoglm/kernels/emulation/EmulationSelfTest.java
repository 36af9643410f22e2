package org.autoglm.kernels.emulation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.autoglm.kernels.cuda.LaunchArgs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The host emulation's own mechanics (src/test/native/emulation_selftest.cpp): warp and block collectives give
 * CUDA's results, barriers that can never complete fail the launch instead of hanging, and the mma helper computes
 * a product laid out as PTX's m16n8k16 fragments.
 */
@EnabledIf("org.autoglm.kernels.emulation.HostEmulation#available")
class EmulationSelfTest {

    private final HostEmulation emulation = new HostEmulation(false);
    private final HostMemory mem = new HostMemory();
    private final LaunchArgs args = new LaunchArgs();

    @AfterEach
    void free() {
        mem.close();
    }

    @Test
    void shufflesAndReductionsGiveCudasResults() {
        long out = mem.alloc(4L * 4 * 128);
        args.reset().ptr(out).launch(emulation, emulation.function("test", "selftest_collectives"),
                "selftest_collectives", 1, 1, 1, 128, 0);
        int[] r = new com.sun.jna.Pointer(out).getIntArray(0, 4 * 128);
        for (int t = 0; t < 128; t++) {
            int lane = t % 32;
            assertThat(r[4 * t]).as("warp sum at %d", t).isEqualTo(31 * 32 / 2);
            assertThat(r[4 * t + 1]).as("block sum at %d", t).isEqualTo(127 * 128 / 2);
            assertThat(r[4 * t + 2]).as("broadcast of lane 5 at %d", t).isEqualTo(t - lane + 5);
            assertThat(r[4 * t + 3]).as("shift down by 3 at %d", t).isEqualTo(lane + 3 < 32 ? t + 3 : t);
        }
    }

    @Test
    void aBarrierThatCanNeverCompleteFailsTheLaunch() {
        long out = mem.alloc(4L * 64);
        assertThatThrownBy(() -> args.reset().ptr(out).launch(emulation,
                emulation.function("test", "selftest_mismatched_barriers"), "selftest_mismatched_barriers", 1, 1, 1,
                32, 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("deadlock");
    }

    @Test
    void theMmaHelperMultipliesFragmentsInThePtxLayouts() {
        long out = mem.alloc(4L * 16 * 8);
        args.reset().ptr(out).launch(emulation, emulation.function("test", "selftest_mma"), "selftest_mma", 1, 1, 1,
                32, 0);
        float[] c = HostMemory.floats(out, 16 * 8);
        for (int i = 0; i < 16; i++) {
            for (int j = 0; j < 8; j++) {
                float expected = 0;
                for (int k = 0; k < 16; k++) expected += (i + k) * (k - j);
                assertThat(c[i * 8 + j]).as("C[%d][%d]", i, j).isEqualTo(expected);
            }
        }
    }
}
