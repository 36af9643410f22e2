package org.autoglm.models.chat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.autoglm.models.grammar.Grammar;

/**
 * How one checkpoint family writes tool calls: how its chat template wants calls and results in the conversation,
 * how to find calls in its output (streamed or whole), and the grammar that makes its output a valid call.
 * {@code glm4}: glm-4-9b-chat and GLM-4-0414 (a function-name line, then the arguments as JSON); {@code glm45}:
 * GLM-4.5 / 4.6 ({@code <tool_call>name<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>}).
 */
public interface ToolCallFormat {

    /** The names {@code --tool-call-parser} takes (besides {@code auto}). */
    List<String> NAMES = List.of("glm4", "glm45");

    /** {@code glm4} or {@code glm45}. */
    String name();

    /** The conversation in the shape the family's template reads (calls and results as it expects them). */
    List<Map<String, Object>> templateMessages(List<ChatMessage> messages);

    /** A parser for one choice's output as it is generated. */
    ToolCallStream stream(List<ToolDefinition> tools);

    /** Output that is one call of one of {@code tools} (or several, where {@code parallel} and the format allow). */
    Grammar calls(List<ToolDefinition> tools, boolean parallel);

    /** Free text, but once the model starts a call, the call must be complete and valid ({@code tool_choice=auto}). */
    Grammar auto(List<ToolDefinition> tools, boolean parallel);

    /** A model's whole output as text and calls. A call whose arguments are not a JSON object leaves it all text. */
    default ParsedOutput parse(String output, List<ToolDefinition> tools) {
        ToolCallStream stream = stream(tools);
        List<ToolCallEvent> events = new ArrayList<>(stream.push(output));
        events.addAll(stream.finish());
        StringBuilder content = new StringBuilder();
        List<String[]> calls = new ArrayList<>(); // id, name, arguments
        for (ToolCallEvent e : events) {
            if (e instanceof ToolCallEvent.Content c) {
                content.append(c.text());
            } else if (e instanceof ToolCallEvent.CallStart s) {
                calls.add(new String[] {s.id(), s.name(), ""});
            } else if (e instanceof ToolCallEvent.CallArguments a) {
                calls.get(a.index())[2] += a.chunk();
            }
        }
        List<ToolCall> out = new ArrayList<>();
        for (String[] c : calls) {
            try {
                if (!ToolDefinition.parse(c[2]).isObject()) return new ParsedOutput(output, List.of());
            } catch (IllegalArgumentException notJson) {
                return new ParsedOutput(output, List.of());
            }
            out.add(new ToolCall(c[0], c[1], c[2]));
        }
        return new ParsedOutput(content.toString(), out);
    }

    /** Text for the user and the calls the model made. */
    record ParsedOutput(String content, List<ToolCall> calls) {}

    /**
     * The format for a {@code --tool-call-parser} value; {@code auto} picks it from the chat template.
     *
     * @throws IllegalArgumentException for an unknown name (the message lists the known ones)
     */
    static ToolCallFormat select(String name, ChatTemplate template) {
        String n = name.toLowerCase(Locale.ROOT);
        return switch (n) {
            case "glm4" -> new Glm4ToolCalls();
            case "glm45" -> new Glm45ToolCalls();
            case "auto" -> detect(template == null ? "" : template.source());
            default -> throw new IllegalArgumentException("unknown tool-call parser '" + name + "'; use glm4, glm45 or auto");
        };
    }

    /** GLM-4.5's template writes {@code <arg_key>}; everything older writes the glm4 form. */
    static ToolCallFormat detect(String templateSource) {
        return templateSource.contains("<arg_key>") || templateSource.contains("<tool_call>")
                ? new Glm45ToolCalls() : new Glm4ToolCalls();
    }

    /** The schema of a function's arguments with the root's definitions, so a sub-schema's {@code $ref}s resolve. */
    static String withDefinitions(JsonNode sub, JsonNode root) {
        if (!sub.isObject()) return sub.toString();
        com.fasterxml.jackson.databind.node.ObjectNode copy = ((com.fasterxml.jackson.databind.node.ObjectNode) sub).deepCopy();
        for (String defs : List.of("$defs", "definitions")) {
            if (root.has(defs) && !copy.has(defs)) copy.set(defs, root.get(defs));
        }
        return copy.toString();
    }
}
