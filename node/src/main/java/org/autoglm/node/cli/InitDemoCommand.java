package org.autoglm.node.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code init-demo DIR}: writes the built-in demo checkpoint (see {@link DemoModel}) into a directory. */
@Command(name = "init-demo", mixinStandardHelpOptions = true,
        description = "Write the small random demo GLM checkpoint (config, safetensors, tokenizer, chat template).")
public final class InitDemoCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory to write the checkpoint into.")
    Path dir;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "A Hugging Face tokenizer.json to use instead of the small demo tokenizer; the random model"
                    + " is sized to its vocabulary (its tokenizer_config.json is copied too when it sits beside it).")
    Path tokenizer;

    @Override
    public Integer call() throws Exception {
        if (tokenizer == null) {
            DemoModel.write(dir);
        } else {
            DemoModel.writeWithTokenizer(dir, tokenizer);
        }
        System.err.println("Wrote the demo GLM checkpoint to " + dir.toAbsolutePath());
        return 0;
    }
}
