package org.autoglm.node.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.autoglm.kernels.BackendFactory;
import org.autoglm.kernels.bench.BenchShapes;
import org.autoglm.kernels.bench.DecodeBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench-decode}: decode tokens/s per batch size, prefill tokens/s for a 2048-token prompt and the
 * weight-streaming limit, on random bf16 weights of a named shape built on the GPU.
 */
@Command(name = "bench-decode", mixinStandardHelpOptions = true,
        description = "Measure decode and prefill throughput of the GPU backend on random weights of a model shape,"
                + " or on a checkpoint (--model).")
public final class BenchDecodeCommand implements Callable<Integer> {

    @Option(names = "--backend", defaultValue = "cuda", description = "cuda or auto (the benchmark needs a GPU; default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--shape", description = "glm-edge-1.5b or glm-4-9b (random weights)")
    String shape;

    @Option(names = "--model", paramLabel = "DIR",
            description = "a checkpoint instead of --shape: its weights and shape (the ceiling for bench serve on it)")
    java.nio.file.Path model;

    @Option(names = "--batch", split = ",", defaultValue = "1,8,64,256", description = "batch sizes (default: ${DEFAULT-VALUE})")
    List<Integer> batches;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "prompt length of each sequence (default: ${DEFAULT-VALUE})")
    int promptTokens;

    @Option(names = "--new-tokens", defaultValue = "128", description = "decode steps per batch size (default: ${DEFAULT-VALUE})")
    int newTokens;

    @picocli.CommandLine.Mixin
    CudaBackendOptions cuda = new CudaBackendOptions();

    @Option(names = "--quantize", paramLabel = "fp8|int8",
            description = "weight-only quantization of the random weights, as serve --backend cuda --quantize does")
    String quantize;

    @Option(names = "--profile", description = "also report GPU time per kind of kernel for the 2048-token prefill "
            + "and for a decode step of each batch size (a few untimed extra steps)")
    boolean profile;

    @Option(names = "--json", description = "print the figures as JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        var settings = cuda.settings(quantize == null ? null : org.autoglm.kernels.WeightQuantization.parse(quantize));
        BackendFactory.Kind kind = BackendFactory.resolve(BackendFactory.Kind.parse(backend));
        if (kind != BackendFactory.Kind.CUDA) {
            throw new IllegalArgumentException("bench-decode measures the CUDA backend, and "
                    + (backend.equalsIgnoreCase("auto") ? "no GPU is usable here" : "--backend " + backend
                    + " is not it") + "; run it on a GPU host with --backend cuda");
        }
        if ((shape == null) == (model == null)) {
            throw new IllegalArgumentException("give --shape glm-edge-1.5b|glm-4-9b or --model DIR (one of them)");
        }
        if (shape != null) BenchShapes.byName(shape);   // fail fast on an unknown shape
        if (model != null && !java.nio.file.Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException("--model " + model + " has no config.json");
        }
        if (batches.stream().anyMatch(b -> b < 1) || promptTokens < 1 || newTokens < 1) {
            throw new IllegalArgumentException("--batch, --prompt-tokens and --new-tokens must be positive");
        }
        Map<String, Object> figures = DecodeBench.run(shape, model, batches, promptTokens, newTokens, settings,
                profile);
        if (json) {
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(figures));
        } else {
            figures.forEach((k, v) -> System.out.println(k + ": " + v));
        }
        return 0;
    }
}
