package org.autoglm.node.engine;

import java.nio.file.Path;
import org.autoglm.kernels.cpu.CpuBackend;
import org.autoglm.kernels.cpu.CpuOptions;
import org.autoglm.models.backend.Backend;

/** {@link EngineReferenceTest} on our Vector API CPU backend in f32, two threads. */
class EngineOnCpuTest extends EngineReferenceTest {

    @Override
    Backend load(Path modelDir) {
        return CpuBackend.load(modelDir, CpuOptions.defaults().withThreads(2));
    }
}
