package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.autoglm.kernels.cuda.CudaDevice;
import org.junit.jupiter.api.Test;

class BackendFactoryTest {

    @Test
    void parsesTheFourKindsInAnyCase() {
        assertThat(BackendFactory.Kind.parse("cuda")).isEqualTo(BackendFactory.Kind.CUDA);
        assertThat(BackendFactory.Kind.parse(" DJL ")).isEqualTo(BackendFactory.Kind.DJL);
        assertThat(BackendFactory.Kind.parse("Auto")).isEqualTo(BackendFactory.Kind.AUTO);
        assertThat(BackendFactory.Kind.parse("cpu")).isEqualTo(BackendFactory.Kind.CPU);
        assertThatThrownBy(() -> BackendFactory.Kind.parse("tpu"))
                .hasMessage("unknown backend 'tpu': use cuda, cpu, djl or auto");
    }

    @Test
    void autoPicksCudaExactlyWhenAGpuIsUsableElseOurCpuBackend() {
        // the test JVM has the Vector API module (--add-modules in the surefire argLine)
        BackendFactory.Kind expected = CudaDevice.probe() > 0 ? BackendFactory.Kind.CUDA : BackendFactory.Kind.CPU;
        assertThat(BackendFactory.resolve(BackendFactory.Kind.AUTO)).isEqualTo(expected);
        assertThat(BackendFactory.resolve(BackendFactory.Kind.DJL)).isEqualTo(BackendFactory.Kind.DJL);
    }

    @Test
    void theCpuNativesAreOnThisTestClasspath() {
        // kernels' tests carry pytorch-native-cpu; the -Pcuda node jar does not (checked by the device script)
        assertThat(BackendFactory.cpuNativesPresent()).isTrue();
    }
}
