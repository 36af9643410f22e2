package org.autoglm.node.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.autoglm.kernels.BackendFactory;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.chat.ChatMessage;
import org.autoglm.models.chat.ChatTemplate;
import org.autoglm.models.generate.Generator;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.tokenizer.GlmTokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code generate}: one prompt through one model, on this machine, without a server. With {@code --json} it
 * prints exactly one JSON object on stdout ({@code prompt_ids}, {@code token_ids}, {@code text},
 * {@code finish_reason}, and with {@code --dump-logits} {@code last_logits}); without, it streams the text.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate a continuation of one prompt with a local checkpoint.")
public final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Checkpoint directory (Hugging Face layout: config.json, *.safetensors, tokenizer.json).")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompt prompt;

    static final class Prompt {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "Raw prompt text (no chat template).")
        String text;

        @Option(names = "--prompt-ids", split = ",", paramLabel = "ID", description = "Prompt token ids, e.g. 1,2,3.")
        int[] ids;

        @Option(names = "--chat", paramLabel = "FILE.json",
                description = "A JSON list of {\"role\", \"content\"} messages; the checkpoint's chat template is"
                        + " applied with the generation prompt.")
        Path chat;
    }

    @Option(names = "--max-tokens", defaultValue = "64", description = "Most tokens to generate (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 is greedy (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling mass (default ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 keeps all.")
    int topK;

    @Option(names = "--seed", description = "Seed for reproducible sampling.")
    Long seed;

    @Option(names = "--ignore-eos", description = "Keep generating past end-of-sequence tokens.")
    boolean ignoreEos;

    @Option(names = "--dump-logits", description = "Add last_logits: all logits at the last prompt position (fp32).")
    boolean dumpLogits;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of streaming text.")
    boolean json;

    @Option(names = "--backend", defaultValue = "auto",
            description = "cuda, cpu, djl or auto (CUDA when a GPU is usable, else our CPU backend; default"
                    + " ${DEFAULT-VALUE}).")
    String backend;

    @picocli.CommandLine.Mixin
    CpuBackendOptions cpuOptions = new CpuBackendOptions();

    @picocli.CommandLine.Mixin
    CudaBackendOptions cudaOptions = new CudaBackendOptions();

    @Override
    public Integer call() throws IOException {
        checkSampling();
        BackendFactory.Kind kind = BackendFactory.Kind.parse(backend);
        BackendFactory.Kind runs = BackendFactory.resolve(kind);
        org.autoglm.kernels.cpu.CpuOptions cpu = cpuOptions.toOptions(runs);
        var cuda = cudaOptions.settings(cpuOptions.cudaQuantization(runs));
        SamplingParams params = new SamplingParams(temperature, topP, topK, 0, 1, 0, 0, seed, maxTokens, List.of(),
                ignoreEos, -1);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (GlmTokenizer tokenizer = GlmTokenizer.load(model)) {
            int[] promptIds = promptIds(tokenizer);
            validateIds(promptIds, tokenizer.vocabSize());
            try (Backend runner = BackendFactory.open(runs, model, cuda, cpu)) {
                Generator generator = new Generator(runner, tokenizer, promptIds.length + maxTokens + 1);
                Generator.Result result = generator.generate(promptIds, params, json ? text -> {} : out::print);
                if (json) {
                    out.println(new ObjectMapper().writeValueAsString(toJson(promptIds, result)));
                } else {
                    out.println();
                    System.err.println("[finish_reason=" + result.finishReason() + ", tokens=" + result.tokenIds().length + "]");
                }
            }
        }
        return 0;
    }

    /** Refuses sampling settings that would otherwise be taken silently (a negative temperature meant greedy). */
    private void checkSampling() {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("--max-tokens must be at least 1, got " + maxTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be 0 (greedy) or more, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("--top-p must be greater than 0 and at most 1, got " + topP);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("--top-k must be 0 (keep all) or more, got " + topK);
        }
    }

    private int[] promptIds(GlmTokenizer tokenizer) throws IOException {
        if (prompt.ids != null) {
            return prompt.ids;
        }
        if (prompt.text != null) {
            return tokenizer.encode(prompt.text);
        }
        List<ChatMessage> messages = readChat(prompt.chat);
        return tokenizer.encode(ChatTemplate.load(model).render(messages, true));
    }

    private static List<ChatMessage> readChat(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--chat " + file + ": no such file");
        }
        try {
            List<Map<String, String>> raw = new ObjectMapper().readValue(file.toFile(), new TypeReference<>() {});
            if (raw.isEmpty()) {
                throw new IllegalArgumentException("--chat " + file + ": the message list is empty");
            }
            for (int i = 0; i < raw.size(); i++) {
                Map<String, String> m = raw.get(i);
                if (m == null || m.get("role") == null || m.get("content") == null) {
                    throw new IllegalArgumentException("--chat " + file + ": message " + i
                            + " needs both \"role\" and \"content\" (strings)");
                }
            }
            return raw.stream().map(m -> new ChatMessage(m.get("role"), m.get("content"))).toList();
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException("--chat " + file + ": expected a JSON list of {\"role\", \"content\"}"
                    + " objects (" + e.getOriginalMessage() + ")");
        }
    }

    private static void validateIds(int[] ids, int vocabSize) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give some text or at least one token id");
        }
        for (int id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("--prompt-ids: token id " + id + " is outside the vocabulary [0, "
                        + vocabSize + ")");
            }
        }
    }

    private Map<String, Object> toJson(int[] promptIds, Generator.Result result) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("prompt_ids", promptIds);
        o.put("token_ids", result.tokenIds());
        o.put("text", result.text());
        o.put("finish_reason", result.finishReason());
        if (dumpLogits) {
            o.put("last_logits", result.lastLogits());
        }
        return o;
    }
}
