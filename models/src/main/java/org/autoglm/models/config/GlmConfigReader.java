package org.autoglm.models.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;
import org.autoglm.models.ModelLoadException;

/**
 * Reads a Hugging Face {@code config.json} of a GLM ({@code model_type} {@code glm}) or GLM-4 ({@code glm4})
 * checkpoint into a {@link GlmConfig}. Accepts both config generations: rotary settings at the top level
 * (older files) or inside {@code rope_parameters} (transformers 5), {@code eos_token_id} as a number or a
 * list, {@code dtype} or the older {@code torch_dtype}.
 *
 * <p>Fields that decide the shape of the network must be present; every failure names the file and the field.
 * Optional fields take the defaults of transformers' {@code GlmConfig}.
 */
public final class GlmConfigReader {

    public static final String FILE_NAME = "config.json";
    private static final Set<String> MODEL_TYPES = Set.of("glm", "glm4");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final JsonNode root;

    private GlmConfigReader(Path file, JsonNode root) {
        this.file = file;
        this.root = root;
    }

    /** Reads {@code dir/config.json}. */
    public static GlmConfig read(Path modelDir) {
        Path file = modelDir.resolve(FILE_NAME);
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(file + " not found: a model directory needs the config.json of a"
                    + " Hugging Face GLM checkpoint");
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return parse(file, text);
    }

    /** Parses config text; {@code file} is only used in error messages. */
    public static GlmConfig parse(Path file, String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ModelLoadException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelLoadException(file + " must hold a JSON object");
        }
        return new GlmConfigReader(file, root).toConfig();
    }

    private GlmConfig toConfig() {
        String modelType = requiredText("model_type");
        if (!MODEL_TYPES.contains(modelType)) {
            throw new ModelLoadException(file + ": model_type '" + modelType + "' is not supported;"
                    + " this node runs GLM checkpoints (model_type glm or glm4)");
        }
        String act = optionalText(root, "hidden_act", "silu");
        if (!act.equals("silu")) {
            throw new ModelLoadException(file + ": hidden_act '" + act + "' is not supported (GLM uses silu)");
        }
        rejectRopeScaling();

        int hidden = requiredInt("hidden_size");
        int heads = requiredInt("num_attention_heads");
        int kvHeads = requiredInt("num_key_value_heads");
        int headDim = root.hasNonNull("head_dim") ? positiveInt(root, "head_dim") : hidden / heads;
        JsonNode rope = root.path("rope_parameters");
        double rotaryFactor = number(rope, "partial_rotary_factor", "rope_parameters.partial_rotary_factor",
                number(root, "partial_rotary_factor", "partial_rotary_factor", 0.5));
        double ropeTheta = number(rope, "rope_theta", "rope_parameters.rope_theta",
                number(root, "rope_theta", "rope_theta", 10000.0));

        if (heads % kvHeads != 0) {
            throw new ModelLoadException(file + ": num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int rotaryDim = (int) (headDim * rotaryFactor);
        if (rotaryFactor <= 0 || rotaryFactor > 1 || rotaryDim % 2 != 0) {
            throw new ModelLoadException(file + ": partial_rotary_factor " + rotaryFactor
                    + " must give an even number of rotated dims in (0, head_dim " + headDim + "]");
        }
        return new GlmConfig(
                modelType,
                requiredInt("vocab_size"),
                hidden,
                requiredInt("intermediate_size"),
                requiredInt("num_hidden_layers"),
                heads,
                kvHeads,
                headDim,
                rotaryFactor,
                ropeTheta,
                requiredNumber("rms_norm_eps"),
                root.hasNonNull("max_position_embeddings") ? positiveInt(root, "max_position_embeddings") : 131072,
                bool("attention_bias", true),
                bool("tie_word_embeddings", false),
                eosTokenIds(),
                root.hasNonNull("pad_token_id") ? intValue(root.get("pad_token_id"), "pad_token_id") : -1,
                optionalText(root, "dtype", optionalText(root, "torch_dtype", "float32")));
    }

    /** Scaled rotary variants (yarn, linear, dynamic) would silently change the function: refuse them. */
    private void rejectRopeScaling() {
        String type = optionalText(root.path("rope_parameters"), "rope_type", "default");
        JsonNode legacy = root.path("rope_scaling");
        if (legacy.isObject()) {
            type = optionalText(legacy, "rope_type", optionalText(legacy, "type", "default"));
        }
        if (!type.equals("default")) {
            throw new ModelLoadException(file + ": rope_type '" + type + "' is not supported (only default rotary)");
        }
    }

    private int[] eosTokenIds() {
        JsonNode eos = root.get("eos_token_id");
        if (eos == null || eos.isNull()) {
            throw missing("eos_token_id");
        }
        if (eos.isArray()) {
            if (eos.isEmpty()) {
                throw new ModelLoadException(file + ": eos_token_id is an empty list");
            }
            int[] ids = new int[eos.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = intValue(eos.get(i), "eos_token_id[" + i + "]");
            }
            return ids;
        }
        return new int[] {intValue(eos, "eos_token_id")};
    }

    private String requiredText(String field) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            throw missing(field);
        }
        if (!node.isTextual()) {
            throw new ModelLoadException(file + ": " + field + " must be a string, found " + node);
        }
        return node.asText();
    }

    private String optionalText(JsonNode parent, String field, String fallback) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isTextual()) {
            throw new ModelLoadException(file + ": " + field + " must be a string, found " + node);
        }
        return node.asText();
    }

    private int requiredInt(String field) {
        if (!root.hasNonNull(field)) {
            throw missing(field);
        }
        return positiveInt(root, field);
    }

    private int positiveInt(JsonNode parent, String field) {
        int value = intValue(parent.get(field), field);
        if (value <= 0) {
            throw new ModelLoadException(file + ": " + field + " must be positive, found " + value);
        }
        return value;
    }

    private int intValue(JsonNode node, String field) {
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw new ModelLoadException(file + ": " + field + " must be an integer, found " + node);
        }
        return node.intValue();
    }

    private double requiredNumber(String field) {
        if (!root.hasNonNull(field)) {
            throw missing(field);
        }
        return number(root, field, field, Double.NaN);
    }

    private double number(JsonNode parent, String field, String label, double fallback) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isNumber()) {
            throw new ModelLoadException(file + ": " + label + " must be a number, found " + node);
        }
        return node.doubleValue();
    }

    private boolean bool(String field, boolean fallback) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isBoolean()) {
            throw new ModelLoadException(file + ": " + field + " must be true or false, found " + node);
        }
        return node.booleanValue();
    }

    private ModelLoadException missing(String field) {
        return new ModelLoadException(file + ": required field '" + field + "' is missing");
    }
}
