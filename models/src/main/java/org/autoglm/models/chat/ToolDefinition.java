package org.autoglm.models.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import java.util.Objects;

/**
 * A function the model may call ({@code tools[i].function} of an OpenAI request).
 *
 * @param name         the function's name
 * @param functionJson the whole {@code function} object as the client sent it (name, description, parameters),
 *                     which chat templates print for the model
 * @param parameters   its {@code parameters} JSON Schema text ({@code {"type":"object"}} when absent)
 */
public record ToolDefinition(String name, String functionJson, String parameters) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public ToolDefinition {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(functionJson, "functionJson");
        Objects.requireNonNull(parameters, "parameters");
    }

    /** The {@code tools} entry as a template sees it: {@code {"type": "function", "function": {...}}}. */
    Map<String, Object> templateValue() {
        return Map.of("type", "function", "function", JSON.convertValue(parse(functionJson), Map.class));
    }

    JsonNode parametersNode() {
        return parse(parameters);
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
        }
    }
}
