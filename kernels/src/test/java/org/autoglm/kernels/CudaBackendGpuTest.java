package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Map;
import org.autoglm.kernels.check.ReferenceParity;
import org.autoglm.kernels.cuda.CudaDevice;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** On a GPU host: the CUDA backend in fp32 is the reference function. Skipped where no GPU is usable. */
class CudaBackendGpuTest {

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny", "glm4-tiny"})
    void fp32MatchesTheReferenceFixture(String model) throws Exception {
        assumeTrue(CudaDevice.probe() > 0, "no CUDA driver or GPU here");
        Map<String, Object> r = ReferenceParity.check(Fixtures.dir(), model, CudaConfig.Precision.FP32);
        assertThat(r).containsEntry("greedy_host_exact", true).containsEntry("greedy_gpu_exact", true);
        assertThat((Double) r.get("packed_prefill_max_abs_diff")).isLessThan(1e-3);
        assertThat((Double) r.get("token_by_token_top5_max_abs_diff")).isLessThan(1e-3);
        assertThat((Double) r.get("chunked_prefill_max_abs_diff")).isLessThan(1e-3);
    }
}
