package org.autoglm.models.structured;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Objects;
import org.autoglm.models.chat.ToolCallFormat;
import org.autoglm.models.chat.ToolDefinition;
import org.autoglm.models.grammar.Grammar;

/**
 * What a request's output must look like, as plain data: it travels with the request (across the grid too) and
 * any node rebuilds the same {@link Grammar} from it.
 *
 * @param kind         which of OpenAI's / vLLM's constraints
 * @param source       the schema (JSON text), the regex, the choices (a JSON list) or the EBNF; null for
 *                     {@link Kind#JSON_OBJECT} and {@link Kind#TOOLS}
 * @param toolFormat   {@link Kind#TOOLS}: the checkpoint's tool-call format ({@code glm4}, {@code glm45})
 * @param tools        {@link Kind#TOOLS}: the functions the call may name (one for a named {@code tool_choice})
 * @param toolChoice   {@link Kind#TOOLS}: {@code auto} (text, or a call completed under the grammar once started)
 *                     or {@code required} (a call)
 * @param parallelToolCalls {@link Kind#TOOLS}: several calls may follow one another
 */
public record OutputConstraint(Kind kind, String source, String toolFormat, List<ToolDefinition> tools,
                               String toolChoice, boolean parallelToolCalls) {

    public enum Kind { JSON_SCHEMA, JSON_OBJECT, REGEX, CHOICE, GRAMMAR, TOOLS }

    private static final ObjectMapper JSON = new ObjectMapper();

    public OutputConstraint {
        Objects.requireNonNull(kind, "kind");
        tools = tools == null ? List.of() : List.copyOf(tools);
    }

    public static OutputConstraint of(Kind kind, String source) {
        return new OutputConstraint(kind, source, null, List.of(), null, false);
    }

    public static OutputConstraint tools(ToolCallFormat format, List<ToolDefinition> tools, boolean required,
                                         boolean parallel) {
        return new OutputConstraint(Kind.TOOLS, null, format.name(), tools, required ? "required" : "auto", parallel);
    }

    /**
     * The grammar this constraint stands for.
     *
     * @throws org.autoglm.models.grammar.GrammarException when a schema, regex or grammar cannot be enforced
     */
    public Grammar grammar() {
        return switch (kind) {
            case JSON_SCHEMA -> Grammar.jsonSchema(source);
            case JSON_OBJECT -> Grammar.anyJsonObject();
            case REGEX -> Grammar.regex(source);
            case CHOICE -> Grammar.choice(choices(source));
            case GRAMMAR -> Grammar.ebnf(source);
            case TOOLS -> {
                ToolCallFormat format = ToolCallFormat.select(toolFormat, null);
                yield "required".equals(toolChoice) ? format.calls(tools, parallelToolCalls)
                        : format.auto(tools, parallelToolCalls);
            }
        };
    }

    private static List<String> choices(String json) {
        try {
            return JSON.readValue(json, new TypeReference<List<String>>() {});
        } catch (Exception e) {
            throw new IllegalArgumentException("choices must be a JSON list of strings", e);
        }
    }
}
