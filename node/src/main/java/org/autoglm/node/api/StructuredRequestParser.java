package org.autoglm.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.autoglm.models.chat.ToolCallFormat;
import org.autoglm.models.chat.ToolDefinition;
import org.autoglm.models.grammar.GrammarException;
import org.autoglm.models.structured.OutputConstraint;
import org.autoglm.models.structured.OutputConstraint.Kind;

/**
 * Reads OpenAI's {@code response_format}, vLLM's {@code structured_outputs}, and {@code tools},
 * {@code tool_choice}, {@code parallel_tool_calls}. A constraint is built into its grammar here, so a schema
 * keyword or regex construct we cannot enforce is a 400 naming it and where it is, before anything runs.
 */
final class StructuredRequestParser {

    static final int MAX_TOOLS = 128;
    private static final Pattern FUNCTION_NAME = Pattern.compile("[a-zA-Z0-9_.-]{1,64}");

    private StructuredRequestParser() {}

    static StructuredRequest parse(Params p, boolean chat, ServedModel model) {
        OutputConstraint format = responseFormat(p.node("response_format"));
        OutputConstraint vllm = structuredOutputs(p.node("structured_outputs"));
        if (format != null && vllm != null) {
            throw ApiError.invalid("structured_outputs", "Send 'response_format' or 'structured_outputs', not both.");
        }
        OutputConstraint constraint = format != null ? format : vllm;
        String constraintParam = format != null ? "response_format" : "structured_outputs";
        if (!chat) {
            for (String field : List.of("tools", "tool_choice", "parallel_tool_calls")) {
                if (p.has(field)) {
                    throw ApiError.invalid(field, "'" + field + "' works with /v1/chat/completions only.");
                }
            }
            return new StructuredRequest(checked(constraint, constraintParam), List.of(), false, List.of());
        }
        List<ToolDefinition> tools = tools(p.node("tools"));
        boolean parallel = p.bool("parallel_tool_calls", true);
        JsonNode choiceNode = p.node("tool_choice");
        String choice = toolChoice(choiceNode, tools);
        if (tools.isEmpty() || choice.equals("none")) {
            return new StructuredRequest(checked(constraint, constraintParam), tools, false, List.of());
        }
        if (constraint != null) {
            throw ApiError.invalid(constraintParam, "'" + constraintParam + "' cannot be combined with tool calls; "
                    + "send \"tool_choice\": \"none\" or leave out 'tools'.");
        }
        List<ToolDefinition> callable = tools;
        boolean required = !choice.equals("auto");
        if (!choice.equals("auto") && !choice.equals("required")) {
            callable = tools.stream().filter(t -> t.name().equals(choice)).toList();
        }
        ToolCallFormat toolFormat = model.toolCallFormat();
        OutputConstraint calls = OutputConstraint.tools(toolFormat, callable, required, parallel);
        return new StructuredRequest(checked(calls, "tools"), tools, true, callable);
    }

    /** The constraint after its grammar was built once: what cannot be enforced is refused here. */
    private static OutputConstraint checked(OutputConstraint c, String param) {
        if (c == null) return null;
        try {
            c.grammar();
        } catch (GrammarException e) {
            StringBuilder m = new StringBuilder("'" + param + "' cannot be enforced: " + e.getMessage());
            if (e.keyword() != null && !e.getMessage().contains(e.keyword())) m.append(" (keyword '").append(e.keyword()).append("')");
            if (e.pointer() != null && !e.pointer().isEmpty() && !e.getMessage().contains(e.pointer())) {
                m.append(" at JSON pointer '").append(e.pointer()).append("'");
            }
            throw ApiError.invalid(param, m.toString());
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid(param, "'" + param + "' is invalid: " + e.getMessage());
        }
        return c;
    }

    private static OutputConstraint responseFormat(JsonNode node) {
        if (node == null) return null;
        if (!node.isObject() || !node.path("type").isTextual()) {
            throw ApiError.invalid("response_format", "'response_format' must be an object with a 'type': "
                    + "\"text\", \"json_object\" or \"json_schema\".");
        }
        String type = node.get("type").textValue();
        switch (type) {
            case "text":
                return null;
            case "json_object":
                return OutputConstraint.of(Kind.JSON_OBJECT, null);
            case "json_schema":
                JsonNode spec = node.path("json_schema");
                if (!spec.isObject()) {
                    throw ApiError.invalid("response_format", "'response_format.json_schema' must be an "
                            + "object with 'name' and 'schema'.");
                }
                if (!spec.path("name").isTextual() || !FUNCTION_NAME.matcher(spec.get("name").textValue()).matches()) {
                    throw ApiError.invalid("response_format", "'response_format.json_schema.name' must "
                            + "be a string of letters, digits, '_' or '-' (at most 64).");
                }
                if (spec.has("strict") && !spec.get("strict").isBoolean() && !spec.get("strict").isNull()) {
                    throw ApiError.invalid("response_format", "'strict' must be true or false.");
                }
                JsonNode schema = spec.get("schema");
                if (schema == null || schema.isNull()) {
                    return OutputConstraint.of(Kind.JSON_OBJECT, null); // OpenAI: no schema, any JSON object
                }
                if (!schema.isObject() && !schema.isBoolean()) {
                    throw ApiError.invalid("response_format", "'schema' must be a JSON Schema object.");
                }
                return OutputConstraint.of(Kind.JSON_SCHEMA, schema.toString());
            default:
                throw ApiError.invalid("response_format", "'response_format.type' must be \"text\", "
                        + "\"json_object\" or \"json_schema\", got \"" + type + "\".");
        }
    }

    /** vLLM's {@code structured_outputs}: exactly one of json, regex, choice, grammar. */
    private static OutputConstraint structuredOutputs(JsonNode node) {
        if (node == null) return null;
        if (!node.isObject()) {
            throw ApiError.invalid("structured_outputs", "'structured_outputs' must be an object with one of 'json', "
                    + "'regex', 'choice' or 'grammar'.");
        }
        List<OutputConstraint> found = new ArrayList<>();
        node.fields().forEachRemaining(f -> {
            JsonNode v = f.getValue();
            String where = "structured_outputs." + f.getKey();
            if (v.isNull()) return;
            switch (f.getKey()) {
                case "json" -> {
                    if (v.isTextual()) {
                        found.add(OutputConstraint.of(Kind.JSON_SCHEMA, parseJson(v.textValue(), where)));
                    } else if (v.isObject() || v.isBoolean()) {
                        found.add(OutputConstraint.of(Kind.JSON_SCHEMA, v.toString()));
                    } else {
                        throw ApiError.invalid(where, "'" + where + "' must be a JSON Schema.");
                    }
                }
                case "json_object" -> {
                    if (v.isBoolean() && v.booleanValue()) found.add(OutputConstraint.of(Kind.JSON_OBJECT, null));
                }
                case "regex" -> found.add(OutputConstraint.of(Kind.REGEX, text(v, where)));
                case "grammar" -> found.add(OutputConstraint.of(Kind.GRAMMAR, text(v, where)));
                case "choice" -> {
                    if (!v.isArray() || v.isEmpty()) {
                        throw ApiError.invalid(where, "'" + where + "' must be a non-empty list of strings.");
                    }
                    for (JsonNode c : v) {
                        if (!c.isTextual()) throw ApiError.invalid(where, "'" + where + "' must be a list of strings.");
                    }
                    found.add(OutputConstraint.of(Kind.CHOICE, v.toString()));
                }
                case "disable_fallback", "disable_any_whitespace", "disable_additional_properties", "whitespace_pattern",
                        "backend" -> throw ApiError.invalid(where, "'" + where + "' is not supported; leave it out.");
                default -> throw ApiError.invalid(where, "'" + where + "' is not a structured output; use 'json', "
                        + "'regex', 'choice' or 'grammar'.");
            }
        });
        if (found.size() != 1) {
            throw ApiError.invalid("structured_outputs", "'structured_outputs' needs exactly one of 'json', 'regex', "
                    + "'choice' or 'grammar'.");
        }
        return found.get(0);
    }

    private static List<ToolDefinition> tools(JsonNode node) {
        if (node == null) return List.of();
        if (!node.isArray()) {
            throw ApiError.invalid("tools", "'tools' must be a list of {\"type\": \"function\", \"function\": {...}}.");
        }
        if (node.size() > MAX_TOOLS) throw ApiError.invalid("tools", "At most " + MAX_TOOLS + " tools per request.");
        List<ToolDefinition> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < node.size(); i++) {
            String where = "tools[" + i + "]";
            JsonNode t = node.get(i);
            if (!t.isObject() || !"function".equals(t.path("type").asText())) {
                throw ApiError.invalid(where + ".type", "'" + where + ".type' must be \"function\".");
            }
            JsonNode f = t.path("function");
            if (!f.isObject()) throw ApiError.invalid(where + ".function", "'" + where + ".function' must be an object.");
            JsonNode name = f.path("name");
            if (!name.isTextual() || !FUNCTION_NAME.matcher(name.textValue()).matches()) {
                throw ApiError.invalid(where + ".function.name", "'" + where + ".function.name' must be 1-64 letters, "
                        + "digits, '_', '.' or '-'.");
            }
            if (!names.add(name.textValue())) {
                throw ApiError.invalid(where + ".function.name", "Two tools are named '" + name.textValue() + "'.");
            }
            JsonNode params = f.get("parameters");
            if (params != null && !params.isNull() && !params.isObject()) {
                throw ApiError.invalid(where + ".function.parameters", "'" + where
                        + ".function.parameters' must be a JSON Schema object.");
            }
            String schema = params == null || params.isNull() ? "{\"type\":\"object\",\"properties\":{}}" : params.toString();
            out.add(new ToolDefinition(name.textValue(), f.toString(), schema));
        }
        return out;
    }

    /** {@code none}, {@code auto}, {@code required}, or the name of the one function to call. */
    private static String toolChoice(JsonNode node, List<ToolDefinition> tools) {
        if (node == null) return tools.isEmpty() ? "none" : "auto";
        if (node.isTextual()) {
            String v = node.textValue();
            if (!Set.of("none", "auto", "required").contains(v)) {
                throw ApiError.invalid("tool_choice", "'tool_choice' must be \"none\", \"auto\", \"required\" or "
                        + "{\"type\": \"function\", \"function\": {\"name\": ...}}, got \"" + v + "\".");
            }
            if (!v.equals("none") && tools.isEmpty()) {
                throw ApiError.invalid("tool_choice", "'tool_choice' \"" + v + "\" needs 'tools'.");
            }
            return v;
        }
        String name = node.path("function").path("name").asText(null);
        if (!node.isObject() || !"function".equals(node.path("type").asText()) || name == null) {
            throw ApiError.invalid("tool_choice", "'tool_choice' must be \"none\", \"auto\", \"required\" or "
                    + "{\"type\": \"function\", \"function\": {\"name\": ...}}.");
        }
        if (tools.stream().noneMatch(t -> t.name().equals(name))) {
            throw ApiError.invalid("tool_choice", "'tool_choice' names the function '" + name
                    + "', which is not in 'tools'.");
        }
        return name;
    }

    private static String text(JsonNode v, String where) {
        if (!v.isTextual() || v.textValue().isEmpty()) {
            throw ApiError.invalid(where, "'" + where + "' must be a non-empty string.");
        }
        return v.textValue();
    }

    private static String parseJson(String text, String where) {
        try {
            return JsonBody.MAPPER.readTree(text).toString();
        } catch (Exception e) {
            throw ApiError.invalid(where, "'" + where + "' is not valid JSON: " + e.getMessage());
        }
    }
}
