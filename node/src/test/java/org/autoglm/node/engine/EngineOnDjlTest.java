package org.autoglm.node.engine;

import java.nio.file.Path;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.djl.DjlBackend;

/** {@link EngineReferenceTest} on DJL's PyTorch backend. */
class EngineOnDjlTest extends EngineReferenceTest {

    @Override
    Backend load(Path modelDir) {
        return DjlBackend.load(modelDir);
    }
}
