package org.autoglm.models.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.autoglm.models.grammar.Grammar;

/**
 * GLM-4.5 / 4.6: each call is {@code <tool_call>name\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>\n...</tool_call>},
 * several may follow one another, and text may come before them. A string argument's value is written raw, any
 * other as JSON (vLLM's {@code glm45} parser reads them the same way). The template reads {@code tool_calls} with
 * the arguments as a mapping and results as {@code tool} turns.
 */
final class Glm45ToolCalls implements ToolCallFormat {

    static final String OPEN = "<tool_call>";
    static final String CLOSE = "</tool_call>";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Pattern ARG = Pattern.compile(
            "\\s*<arg_key>(.*?)</arg_key>\\s*<arg_value>(.*?)</arg_value>", Pattern.DOTALL);

    @Override
    public String name() {
        return "glm45";
    }

    @Override
    public List<Map<String, Object>> templateMessages(List<ChatMessage> messages) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> turn = Glm4ToolCalls.plain(m.role(), m.content());
            if (!m.toolCalls().isEmpty()) {
                List<Map<String, Object>> calls = new ArrayList<>();
                for (ToolCall c : m.toolCalls()) {
                    Map<String, Object> function = new LinkedHashMap<>();
                    function.put("name", c.name());
                    function.put("arguments", JSON.convertValue(ToolDefinition.parse(c.arguments()), Map.class));
                    calls.add(Map.of("id", c.id() == null ? "" : c.id(), "type", "function", "function", function));
                }
                turn.put("tool_calls", calls);
            }
            if (m.toolCallId() != null) turn.put("tool_call_id", m.toolCallId());
            out.add(turn);
        }
        return out;
    }

    @Override
    public Grammar calls(List<ToolDefinition> tools, boolean parallel) {
        Grammar one = Grammar.sequence(Grammar.literal(OPEN), afterOpen(tools));
        return parallel ? Grammar.sequence(one, Grammar.repeat(Grammar.sequence(Grammar.literal("\n"), one), 0,
                Integer.MAX_VALUE)) : one;
    }

    @Override
    public Grammar auto(List<ToolDefinition> tools, boolean parallel) {
        return Grammar.triggered(Map.of(OPEN, afterOpen(tools)), parallel);
    }

    /** The rest of a call once {@code <tool_call>} is written: a name, its arguments, the closing tag. */
    private static Grammar afterOpen(List<ToolDefinition> tools) {
        Grammar[] each = new Grammar[tools.size()];
        for (int i = 0; i < each.length; i++) {
            ToolDefinition t = tools.get(i);
            each[i] = Grammar.sequence(Grammar.literal(t.name() + "\n"), arguments(t.parametersNode()),
                    Grammar.literal(CLOSE));
        }
        return each.length == 1 ? each[0] : Grammar.anyOf(each);
    }

    /** The declared properties in order, the required ones always, the others optionally. */
    private static Grammar arguments(JsonNode schema) {
        JsonNode props = schema.path("properties");
        if (!props.isObject() || props.isEmpty()) {
            return Grammar.literal("");
        }
        List<String> required = new ArrayList<>();
        schema.path("required").forEach(r -> required.add(r.asText()));
        List<Grammar> parts = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> p = it.next();
            Grammar arg = Grammar.sequence(Grammar.literal("<arg_key>" + p.getKey() + "</arg_key>\n<arg_value>"),
                    value(p.getValue(), schema), Grammar.literal("</arg_value>\n"));
            parts.add(required.contains(p.getKey()) ? arg : Grammar.repeat(arg, 0, 1));
        }
        return Grammar.sequence(parts.toArray(Grammar[]::new));
    }

    private static Grammar value(JsonNode property, JsonNode root) {
        if (isPlainString(property)) {
            return Grammar.regex("[^<]*"); // raw text up to </arg_value>
        }
        return Grammar.jsonSchema(ToolCallFormat.withDefinitions(property, root));
    }

    /** A string written raw: type string and nothing the raw form cannot enforce (enum, pattern, lengths...). */
    static boolean isPlainString(JsonNode property) {
        if (!"string".equals(property.path("type").asText(null))) return false;
        for (String k : List.of("enum", "const", "pattern", "format", "minLength", "maxLength")) {
            if (property.has(k)) return false;
        }
        return true;
    }

    @Override
    public ToolCallStream stream(List<ToolDefinition> tools) {
        Map<String, JsonNode> schemas = new LinkedHashMap<>();
        for (ToolDefinition t : tools) schemas.put(t.name(), t.parametersNode());
        return new ToolCallStream() {
            private int pos;
            private int call = -1;      // index of the open call, or -1 outside calls
            private String name;        // the open call's name once read
            private int args;           // arguments written for the open call

            @Override
            protected void advance(boolean end) {
                while (true) {
                    if (call < 0 && name == null) {
                        int open = text.indexOf(OPEN, pos);
                        if (open < 0) {
                            int hold = end ? 0 : partialMarker(text.subSequence(pos, text.length()), OPEN);
                            if (numCalls() > 0 && text.substring(pos, text.length() - hold).isBlank()) {
                                if (end) pos = text.length(); // the line breaks between and after calls are not text
                                return;
                            }
                            content(text.substring(pos, text.length() - hold));
                            pos = text.length() - hold;
                            return;
                        }
                        String before = text.substring(pos, open);
                        if (numCalls() == 0 || !before.isBlank()) content(before);
                        pos = open + OPEN.length();
                        name = "";
                    }
                    if (call < 0) {
                        int nl = firstOf(pos, "\n", "<arg_key>", CLOSE);
                        if (nl < 0 && !end) return;
                        if (nl < 0) nl = text.length();
                        name = text.substring(pos, nl).strip();
                        call = startCall(name);
                        args = 0;
                        pos = nl < text.length() && text.charAt(nl) == '\n' ? nl + 1 : nl;
                    }
                    Matcher m = ARG.matcher(text);
                    m.region(pos, text.length());
                    if (m.lookingAt()) {
                        arguments(call, (args++ == 0 ? "{" : ", ") + JSON.valueToTree(m.group(1).strip()) + ": "
                                + argumentValue(m.group(1).strip(), m.group(2)));
                        pos = m.end();
                        continue;
                    }
                    int close = text.indexOf(CLOSE, pos);
                    boolean closed = close >= 0 && text.substring(pos, close).isBlank();
                    if (closed || end) {
                        arguments(call, args == 0 ? "{}" : "}");
                        pos = closed ? close + CLOSE.length() : text.length();
                        call = -1;
                        name = null;
                        if (end && !closed) return;
                        continue;
                    }
                    return; // an argument or the closing tag is still being written
                }
            }

            private int firstOf(int from, String... markers) {
                int best = -1;
                for (String marker : markers) {
                    int i = text.indexOf(marker, from);
                    if (i >= 0 && (best < 0 || i < best)) best = i;
                }
                return best;
            }

            private String argumentValue(String key, String raw) {
                JsonNode property = schemas.getOrDefault(name, JSON.createObjectNode()).path("properties").path(key);
                // a plain string is written raw; any other value (a constrained string included) as JSON
                if (!isPlainString(property) && !raw.isBlank()) {
                    try {
                        JsonNode v = JSON.readTree(raw.strip());
                        if (v != null && !v.isMissingNode()) return v.toString();
                    } catch (Exception notJson) {
                        // written raw after all: it is a string
                    }
                }
                return TextNode.valueOf(raw).toString();
            }
        };
    }
}
