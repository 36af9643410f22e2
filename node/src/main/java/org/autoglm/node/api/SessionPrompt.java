package org.autoglm.node.api;

import java.util.ArrayList;
import java.util.List;
import org.autoglm.models.chat.ToolDefinition;
import org.autoglm.node.session.Message;
import org.autoglm.node.session.Session;

/**
 * The prompt of a session turn: system prompt, as much history as fits, the new messages. History is
 * dropped oldest first (a user message together with the replies after it) until the rendered prompt plus
 * the tokens to generate fit the context window; the system prompt and the new messages are always kept.
 *
 * @param keptHistory the history that was sent (the session keeps only this from now on)
 * @param promptIds   the tokenized prompt
 */
record SessionPrompt(List<Message> keptHistory, int[] promptIds) {

    /**
     * @param maxTokens tokens to generate, or 0 when unspecified (then at least one must fit)
     */
    static SessionPrompt build(Session session, List<Message> turn, int maxTokens, ServedModel model) {
        return build(session, turn, List.of(), maxTokens, model);
    }

    /** With the request's tools (shown to the model through the template). */
    static SessionPrompt build(Session session, List<Message> turn, List<ToolDefinition> tools, int maxTokens,
            ServedModel model) {
        List<Message> kept = new ArrayList<>(session.history());
        int room = model.contextLength() - Math.max(maxTokens, 1);
        while (true) {
            List<Message> all = new ArrayList<>();
            if (session.systemPrompt() != null) {
                all.add(new Message("system", session.systemPrompt()));
            }
            all.addAll(kept);
            all.addAll(turn);
            int[] ids;
            try {
                ids = encode(model, all, tools, Math.max(room, 0)); // null: longer than room
            } catch (RuntimeException e) {
                throw ApiError.invalid("messages", "The messages could not be tokenized: " + e.getMessage());
            }
            if (ids != null) {
                return new SessionPrompt(List.copyOf(kept), ids);
            }
            if (kept.isEmpty()) {
                throw ApiError.invalid("messages", "This turn needs more than " + Math.max(room, 0) + " prompt tokens"
                        + (maxTokens > 0 ? " plus max_tokens " + maxTokens : "") + ", more than the context of "
                        + model.contextLength() + " even without the session's history; shorten it.");
            }
            kept.remove(0);
            while (!kept.isEmpty() && !"user".equals(kept.get(0).role())) {
                kept.remove(0);
            }
        }
    }

    /**
     * The conversation's ids, or null past {@code most}. With tools, or tool calls and results in the history,
     * the template renders them in the checkpoint's tool-call format (and counts the whole prompt).
     */
    private static int[] encode(ServedModel model, List<Message> all, List<ToolDefinition> tools, int most) {
        boolean toolTurns = all.stream().anyMatch(m -> !m.toolCalls().isEmpty() || m.toolCallId() != null);
        if (tools.isEmpty() && !toolTurns) {
            return model.encodeChatAtMost(all, most); // counting stops early
        }
        int[] ids = model.encodeChat(all, tools);
        return ids.length > most ? null : ids;
    }
}
