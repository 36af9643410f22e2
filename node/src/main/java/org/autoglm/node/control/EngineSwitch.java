package org.autoglm.node.control;

import java.nio.file.Path;

/** Replaces the serving engine: what {@code restart-engine} and {@code load-model} do on a node. */
public interface EngineSwitch {

    /**
     * Loads {@code modelDir} (null: the checkpoint serving now) into a new engine, switches serving to it once the old
     * one has drained, and closes the old one. On any failure the old engine keeps serving (rolled back).
     *
     * @return a one-line description of what now serves
     * @throws Exception saying why the switch failed and that the node rolled back
     */
    String switchTo(Path modelDir) throws Exception;
}
