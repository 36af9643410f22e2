package org.autoglm.models.chat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.models.grammar.Grammar;

/**
 * glm-4-9b-chat and GLM-4-0414: the assistant turn that calls a function is the function's name on its own line,
 * then its arguments as JSON ({@code get_weather\n{"city": "Beijing"}}); the template shows such a turn as an
 * assistant message with {@code metadata} = the name and {@code content} = the arguments, and a result as an
 * {@code observation} turn. One call per assistant turn.
 */
final class Glm4ToolCalls implements ToolCallFormat {

    @Override
    public String name() {
        return "glm4";
    }

    @Override
    public List<Map<String, Object>> templateMessages(List<ChatMessage> messages) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ChatMessage m : messages) {
            if ("assistant".equals(m.role()) && !m.toolCalls().isEmpty()) {
                if (!m.content().isEmpty()) out.add(plain("assistant", m.content()));
                for (ToolCall call : m.toolCalls()) {
                    Map<String, Object> turn = plain("assistant", call.arguments());
                    turn.put("metadata", call.name());
                    out.add(turn);
                }
            } else if ("tool".equals(m.role())) {
                out.add(plain("observation", m.content()));
            } else {
                out.add(plain(m.role(), m.content()));
            }
        }
        return out;
    }

    static Map<String, Object> plain(String role, String content) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("role", role);
        map.put("content", content);
        return map;
    }

    @Override
    public Grammar calls(List<ToolDefinition> tools, boolean parallel) {
        Grammar[] each = new Grammar[tools.size()];
        for (int i = 0; i < each.length; i++) {
            ToolDefinition t = tools.get(i);
            each[i] = Grammar.sequence(Grammar.literal(t.name() + "\n"), Grammar.jsonSchema(t.parameters()));
        }
        return each.length == 1 ? each[0] : Grammar.anyOf(each);
    }

    @Override
    public Grammar auto(List<ToolDefinition> tools, boolean parallel) {
        Map<String, Grammar> triggers = new LinkedHashMap<>();
        for (ToolDefinition t : tools) triggers.put(t.name() + "\n", Grammar.jsonSchema(t.parameters()));
        return Grammar.triggered(triggers, false);
    }

    @Override
    public ToolCallStream stream(List<ToolDefinition> tools) {
        List<String> heads = tools.stream().map(t -> t.name() + "\n").toList();
        return new ToolCallStream() {
            private int decided;
            private int call = -1;

            @Override
            protected void advance(boolean end) {
                if (call >= 0) {
                    arguments(call, text.substring(decided));
                    decided = text.length();
                    return;
                }
                for (int p = decided; p <= text.length(); p++) {
                    if (p > 0 && text.charAt(p - 1) != '\n') continue; // a call starts a line
                    String rest = text.substring(p);
                    for (String head : heads) {
                        if (rest.startsWith(head)) {
                            content(text.substring(decided, p));
                            call = startCall(head.substring(0, head.length() - 1));
                            decided = p + head.length();
                            arguments(call, text.substring(decided));
                            decided = text.length();
                            return;
                        }
                    }
                    if (!end && heads.stream().anyMatch(h -> h.startsWith(rest))) {
                        content(text.substring(decided, p)); // hold the rest: it may still become a call
                        decided = p;
                        return;
                    }
                }
                content(text.substring(decided));
                decided = text.length();
            }
        };
    }
}
