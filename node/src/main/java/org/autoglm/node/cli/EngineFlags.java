package org.autoglm.node.cli;

import org.autoglm.node.engine.EngineOptions;
import picocli.CommandLine.Option;

/**
 * The engine's {@code serve} flags, mixed into the command. Defaults come from {@link EngineOptions.Builder}
 * (the one place they are written) and picocli shows them in {@code --help}; {@link #options()} validates.
 * A new engine flag: a field in the builder and the record, one field here, one line in {@link #options()}.
 */
final class EngineFlags {

    private static final EngineOptions DEFAULTS = EngineOptions.defaults();

    @Option(names = "--max-num-seqs", description = "Most sequences in one batch (default: ${DEFAULT-VALUE}).")
    int maxNumSeqs = DEFAULTS.maxNumSeqs();

    @Option(names = "--max-num-batched-tokens",
            description = "Most tokens computed in one engine step (default: ${DEFAULT-VALUE}).")
    int maxNumBatchedTokens = DEFAULTS.maxNumBatchedTokens();

    @Option(names = "--scheduling-policy", paramLabel = "fcfs|priority|sjf|mlfq",
            description = "Order in which waiting requests are admitted (default: ${DEFAULT-VALUE}).")
    String schedulingPolicy = DEFAULTS.schedulingPolicy();

    @Option(names = "--max-waiting",
            description = "Waiting requests beyond this are refused with 429 (default: ${DEFAULT-VALUE}).")
    int maxWaiting = DEFAULTS.maxWaiting();

    @Option(names = "--block-size", description = "KV-cache block size in tokens (default: ${DEFAULT-VALUE}).")
    int blockSize = DEFAULTS.blockSize();

    @Option(names = "--num-kv-blocks",
            description = "KV-cache blocks to allocate; 0 lets the backend size it from memory (default: ${DEFAULT-VALUE}).")
    int numKvBlocks = DEFAULTS.numKvBlocks();

    @Option(names = "--max-model-len",
            description = "Longest prompt + output accepted; 0 = the model's context length (default: ${DEFAULT-VALUE}).")
    int maxModelLen = DEFAULTS.maxModelLen();

    @Option(names = "--batch-line-tokens-per-step", paramLabel = "N",
            description = "Most tokens of batch lines (Batch API) in one engine step, the rest taking turns; keeps"
                    + " steps short for interactive requests on CPU nodes. 0 = no limit (default: ${DEFAULT-VALUE}).")
    int batchLineTokensPerStep = DEFAULTS.batchLineTokensPerStep();

    @Option(names = "--no-prefix-caching", description = "Do not reuse the KV cache of shared prompt prefixes.")
    boolean noPrefixCaching = !DEFAULTS.prefixCaching();

    /** The flags as engine options; a bad value throws {@link IllegalArgumentException} naming its flag. */
    EngineOptions options() {
        return EngineOptions.create(o -> {
            o.maxNumSeqs = maxNumSeqs;
            o.maxNumBatchedTokens = maxNumBatchedTokens;
            o.schedulingPolicy = schedulingPolicy;
            o.maxWaiting = maxWaiting;
            o.blockSize = blockSize;
            o.numKvBlocks = numKvBlocks;
            o.maxModelLen = maxModelLen;
            o.prefixCaching = !noPrefixCaching;
            o.batchLineTokensPerStep = batchLineTokensPerStep;
        });
    }
}
