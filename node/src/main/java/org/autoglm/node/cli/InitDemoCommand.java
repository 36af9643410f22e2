package org.autoglm.node.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code init-demo DIR}: writes the built-in demo checkpoint (see {@link DemoModel}) into a directory. */
@Command(name = "init-demo", mixinStandardHelpOptions = true,
        description = "Write the small random demo GLM checkpoint (config, safetensors, tokenizer, chat template).")
public final class InitDemoCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory to write the checkpoint into.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        DemoModel.write(dir);
        System.err.println("Wrote the demo GLM checkpoint to " + dir.toAbsolutePath());
        return 0;
    }
}
