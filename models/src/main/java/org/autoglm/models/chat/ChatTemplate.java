package org.autoglm.models.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.models.ModelLoadException;

/**
 * The checkpoint's own chat template, rendered with a real Jinja engine the way transformers'
 * {@code apply_chat_template(messages, add_generation_prompt=..., tokenize=False)} does.
 *
 * <p>Found in {@code chat_template.jinja} (newer checkpoints) or the {@code chat_template} field of
 * {@code tokenizer_config.json} (a string, or a list of named templates of which {@code default} is used);
 * the file wins when both exist, as in transformers. The special-token strings of {@code tokenizer_config.json}
 * ({@code eos_token}, {@code bos_token}, ...) are visible to the template.
 *
 * <p>Thread-safe: each render has its own interpreter.
 */
public final class ChatTemplate {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Jinjava JINJA = JinjaEnvironment.create();
    private static final List<String> SPECIAL_TOKEN_FIELDS =
            List.of("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token");

    private final String source;
    private final String origin;
    private final Map<String, Object> specialTokens;

    private ChatTemplate(String source, String origin, Map<String, Object> specialTokens) {
        // jinja2 drops a single trailing newline of the template (keep_trailing_newline=False)
        this.source = source.endsWith("\r\n") ? source.substring(0, source.length() - 2)
                : source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
        this.origin = origin;
        this.specialTokens = Map.copyOf(specialTokens);
        checkNames();
    }

    /**
     * Reads the chat template of a checkpoint directory.
     *
     * @throws ModelLoadException when there is none, the JSON is malformed, or the template uses a filter or
     *     test this engine does not have (it would otherwise render as nothing)
     */
    public static ChatTemplate load(Path modelDir) {
        Path jinjaFile = modelDir.resolve("chat_template.jinja");
        Path configFile = modelDir.resolve("tokenizer_config.json");
        JsonNode config = readJson(configFile);
        Map<String, Object> specialTokens = specialTokens(config);
        if (Files.isRegularFile(jinjaFile)) {
            try {
                return new ChatTemplate(Files.readString(jinjaFile, StandardCharsets.UTF_8), jinjaFile.toString(),
                        specialTokens);
            } catch (IOException e) {
                throw new ModelLoadException("cannot read " + jinjaFile.toAbsolutePath() + ": " + e.getMessage(), e);
            }
        }
        JsonNode field = config == null ? null : config.get("chat_template");
        String origin = configFile + " (field chat_template)";
        if (field != null && field.isTextual()) {
            return new ChatTemplate(field.asText(), origin, specialTokens);
        }
        if (field != null && field.isArray()) {
            for (JsonNode named : field) {
                if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) {
                    return new ChatTemplate(named.get("template").asText(), origin + "[default]", specialTokens);
                }
            }
            throw new ModelLoadException(origin + " is a list of named templates without one named \"default\"");
        }
        throw new ModelLoadException("no chat template in " + modelDir.toAbsolutePath() + ": expected "
                + jinjaFile.getFileName() + " or a \"chat_template\" field in " + configFile.getFileName()
                + " (use --prompt or --prompt-ids for a checkpoint without one)");
    }

    /** A template from its source text (tests, or a template given on the command line). */
    public static ChatTemplate of(String source) {
        try {
            return new ChatTemplate(source, "the given chat template", Map.of());
        } catch (ModelLoadException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** The conversation as the model's prompt text; the generation prompt opens the assistant's turn. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> plain = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            plain.add(map);
        }
        return render(plain, addGenerationPrompt, Map.of());
    }

    /**
     * A conversation with tools: calls and results in the shape {@code format} says the template reads, and the
     * function definitions in the template's {@code tools} variable (glm-4-9b-chat's template reads them from a
     * system message's {@code tools} field instead: they are put there too).
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, List<ToolDefinition> tools,
                         ToolCallFormat format) {
        List<Map<String, Object>> shaped = new ArrayList<>(format.templateMessages(messages));
        Map<String, Object> variables = new HashMap<>();
        if (!tools.isEmpty()) {
            List<Map<String, Object>> values = tools.stream().map(ToolDefinition::templateValue).toList();
            variables.put("tools", values);
            if (source.contains("['tools']")) {
                if (shaped.isEmpty() || !"system".equals(shaped.get(0).get("role"))) {
                    shaped.add(0, Glm4ToolCalls.plain("system", ""));
                }
                Map<String, Object> system = new LinkedHashMap<>(shaped.get(0));
                system.put("tools", values);
                shaped.set(0, system);
            }
        }
        return render(shaped, addGenerationPrompt, variables);
    }

    /**
     * The general form: messages as maps (for fields such as {@code tool_calls}) and extra template variables
     * (e.g. {@code tools}, {@code enable_thinking}).
     *
     * @throws ChatTemplateException when the template raises an exception or fails on this conversation
     */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt,
                         Map<String, ?> variables) {
        Map<String, Object> context = new HashMap<>(specialTokens);
        context.putAll(variables);
        context.put("messages", messages);
        context.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = JINJA.renderForResult(source, context);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw failure(error);
            }
        }
        return result.getOutput();
    }

    /** The template text. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "ChatTemplate[" + origin + "]";
    }

    private ChatTemplateException failure(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof JinjaEnvironment.TemplateRaisedException raised) {
                return new ChatTemplateException("the chat template rejected the conversation: " + raised.getMessage());
            }
        }
        String message = error.getMessage();
        if (message != null && message.contains(JinjaEnvironment.TemplateRaisedException.class.getSimpleName())) {
            message = message.substring(message.indexOf(':') + 1).strip();
        }
        return new ChatTemplateException("chat template " + origin + " failed at line " + error.getLineno() + ": "
                + message, error.getException());
    }

    private void checkNames() {
        TemplateNames names = TemplateNames.scan(source);
        for (String filter : names.filters()) {
            if (JINJA.getGlobalContext().getFilter(filter) == null) {
                throw new ModelLoadException("chat template " + origin + " uses the Jinja filter '" + filter
                        + "', which this server does not implement; it would render as empty text");
            }
        }
        for (String test : names.tests()) {
            if (JINJA.getGlobalContext().getExpTest(test) == null) {
                throw new ModelLoadException("chat template " + origin + " uses the Jinja test '" + test
                        + "', which this server does not implement");
            }
        }
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelLoadException("cannot parse " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /** The strings of {@code eos_token} and friends, which are a string or an {@code {"content": ...}} object. */
    private static Map<String, Object> specialTokens(JsonNode config) {
        Map<String, Object> tokens = new HashMap<>();
        if (config != null) {
            for (String field : SPECIAL_TOKEN_FIELDS) {
                JsonNode value = config.get(field);
                if (value != null && value.isTextual()) {
                    tokens.put(field, value.asText());
                } else if (value != null && value.path("content").isTextual()) {
                    tokens.put(field, value.get("content").asText());
                }
            }
        }
        return tokens;
    }
}
