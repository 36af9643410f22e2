package org.autoglm.node.engine;

import java.nio.file.Path;
import org.autoglm.kernels.cpu.CpuBackend;
import org.autoglm.kernels.cpu.CpuOptions;
import org.autoglm.models.backend.Backend;

/**
 * {@link EngineReferenceTest} with asynchronous scheduling: our CPU backend behind {@link DeviceStreamBackend}, so
 * steps run ahead of their tokens (fed on the "device" thread) and the greedy tokens must still be the reference's.
 */
class EngineOnCpuAsyncTest extends EngineReferenceTest {

    @Override
    Backend load(Path modelDir) {
        return CpuBackend.load(modelDir, CpuOptions.defaults().withThreads(2));
    }

    @Override
    Backend driven(Backend loaded) {
        return new DeviceStreamBackend(loaded);
    }
}
