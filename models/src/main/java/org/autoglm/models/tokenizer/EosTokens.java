package org.autoglm.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.OptionalInt;
import java.util.Set;
import org.autoglm.models.ModelLoadException;

/**
 * The ids that end generation, gathered the way transformers does: {@code eos_token_id} (int or list) of
 * {@code generation_config.json} and {@code config.json}, plus the {@code eos_token} string of
 * {@code tokenizer_config.json} looked up in the vocabulary. GLM-4 lists several ({@code <|endoftext|>},
 * {@code <|user|>}, {@code <|observation|>}); all of them count.
 */
final class EosTokens {

    private static final ObjectMapper JSON = new ObjectMapper();

    private EosTokens() {}

    static int[] read(Path modelDir, TokenizerVocabulary vocabulary) {
        Set<Integer> ids = new LinkedHashSet<>();
        for (String name : new String[] {"generation_config.json", "config.json"}) {
            JsonNode root = readIfPresent(modelDir.resolve(name));
            if (root != null) {
                addIds(root.get("eos_token_id"), ids);
            }
        }
        JsonNode tokenizerConfig = readIfPresent(modelDir.resolve("tokenizer_config.json"));
        if (tokenizerConfig != null) {
            JsonNode eos = tokenizerConfig.get("eos_token");
            String token = eos == null ? null : eos.isTextual() ? eos.asText() : eos.path("content").asText(null);
            if (token != null) {
                OptionalInt id = vocabulary.id(token);
                id.ifPresent(ids::add);
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void addIds(JsonNode node, Set<Integer> ids) {
        if (node == null || node.isNull()) {
            return;
        }
        if (node.isArray()) {
            node.forEach(n -> ids.add(n.asInt()));
        } else if (node.isIntegralNumber()) {
            ids.add(node.asInt());
        }
    }

    static JsonNode readIfPresent(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelLoadException("cannot parse " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }
}
