package org.autoglm.node.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.autoglm.kernels.BackendFactory;
import org.autoglm.models.chat.ToolCallFormat;
import org.autoglm.models.config.GlmConfigReader;
import org.autoglm.node.engine.EngineOptions;
import picocli.CommandLine.Option;

/**
 * What {@code serve} loads and on which backend, mixed into the command. {@link #plan} checks every value before
 * anything starts, so that a mistake stops the process with one line instead of a node that never becomes ready.
 */
final class ModelFlags {

    @Option(names = "--model", paramLabel = "DIR",
            description = "Checkpoint directory (Hugging Face layout). Default: the built-in demo model (random weights).")
    Path model;

    @Option(names = "--served-model-name", paramLabel = "NAME",
            description = "Model name in the API. Default: the checkpoint directory's name (demo for the demo model).")
    String servedModelName;

    @Option(names = "--backend", paramLabel = "cuda|cpu|djl|auto",
            description = "cuda: our CUDA kernels; cpu: our Vector API kernels on the CPU; djl: PyTorch on the CPU;"
                    + " auto: CUDA when a GPU is usable, else cpu (default: ${DEFAULT-VALUE}).")
    String backend = "auto";

    @picocli.CommandLine.Mixin
    CpuBackendOptions cpu = new CpuBackendOptions();

    @picocli.CommandLine.Mixin
    CudaBackendOptions cuda = new CudaBackendOptions();

    @Option(names = "--tool-call-parser", paramLabel = "glm4|glm45|auto",
            description = "How the model writes tool calls: glm4 (glm-4-9b-chat, GLM-4-0414: a name line, then JSON "
                    + "arguments), glm45 (GLM-4.5/4.6: <tool_call> with <arg_key>/<arg_value>), or auto (from the chat "
                    + "template) (default: ${DEFAULT-VALUE}).")
    String toolCallParser = "auto";

    /** The checked flags; {@link IllegalArgumentException} names the flag at fault. */
    ModelLoading.Plan plan(EngineOptions engine) {
        Path dir = model != null ? model : DemoModel.defaultDir();
        if (model != null) {
            checkCheckpoint(model);
        }
        String name = servedModelName != null ? servedModelName
                : dir.toAbsolutePath().normalize().getFileName().toString();
        if (name.isBlank()) {
            throw new IllegalArgumentException("--served-model-name must not be empty");
        }
        if (!toolCallParser.equals("auto") && !ToolCallFormat.NAMES.contains(toolCallParser)) {
            throw new IllegalArgumentException("--tool-call-parser must be glm4, glm45 or auto, got '" + toolCallParser + "'");
        }
        BackendFactory.Kind kind = backendKind();
        BackendFactory.Kind runs = BackendFactory.resolve(kind);
        return new ModelLoading.Plan(dir, name, model == null, kind, cuda.settings(cpu.cudaQuantization(runs)), engine,
                toolCallParser, cpu.toOptions(runs));
    }

    /** The directory exists and its config.json is one we can serve; the weights are read while loading. */
    private static void checkCheckpoint(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--model " + dir + " is not a directory");
        }
        if (!Files.isRegularFile(dir.resolve(GlmConfigReader.FILE_NAME))) {
            throw new IllegalArgumentException("--model " + dir + " has no config.json: give a Hugging Face checkpoint"
                    + " directory, or leave --model out for the demo model");
        }
        try {
            GlmConfigReader.read(dir);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--model " + dir + ": " + e.getMessage(), e);
        }
    }

    /** An unknown name, {@code cuda} on a machine without a usable GPU, or {@code cpu} on Java 19-21 is refused here. */
    private BackendFactory.Kind backendKind() {
        BackendFactory.Kind kind = BackendFactory.Kind.parse(backend);
        if (kind == BackendFactory.Kind.CUDA && BackendFactory.resolve(BackendFactory.Kind.AUTO) != BackendFactory.Kind.CUDA) {
            throw new IllegalArgumentException("--backend cuda: no usable GPU here (the CUDA driver libcuda did not load"
                    + " or sees no device); use --backend cpu or auto for the CPU");
        }
        if (kind == BackendFactory.Kind.CPU && !org.autoglm.kernels.cpu.CpuBackend.supportedJava()) {
            throw new IllegalArgumentException(org.autoglm.kernels.cpu.CpuBackend.unusableReason());
        }
        return kind;
    }
}
