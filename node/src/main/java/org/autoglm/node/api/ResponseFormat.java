package org.autoglm.node.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.autoglm.models.chat.ToolCall;
import org.autoglm.models.chat.ToolCallEvent;
import org.autoglm.node.engine.TokenDelta;

/**
 * The JSON OpenAI clients expect, for chat ({@code chat.completion[.chunk]}, text in {@code message} /
 * {@code delta}) and for completions ({@code text_completion}, text in {@code text}).
 */
final class ResponseFormat {

    static final ResponseFormat CHAT = new ResponseFormat(true);
    static final ResponseFormat TEXT = new ResponseFormat(false);

    private final boolean chat;

    private ResponseFormat(boolean chat) {
        this.chat = chat;
    }

    /** The envelope shared by responses and chunks. */
    ObjectNode envelope(String id, long created, String model, boolean chunk) {
        ObjectNode n = JsonBody.MAPPER.createObjectNode();
        n.put("id", id);
        n.put("object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        n.put("created", created);
        n.put("model", model);
        n.putArray("choices");
        return n;
    }

    /** One streamed piece of a choice; {@code first} adds the assistant role (chat). */
    ObjectNode chunkChoice(int index, String text, TokenDelta raw, boolean first, ServedModel model) {
        ObjectNode c = JsonBody.MAPPER.createObjectNode();
        c.put("index", index);
        if (chat) {
            ObjectNode delta = c.putObject("delta");
            if (first) {
                delta.put("role", "assistant");
            }
            delta.put("content", text);
        } else {
            c.put("text", text);
        }
        if (raw != null && !raw.logprobs().isEmpty()) {
            c.set("logprobs", logprobs(raw.logprobs(), model));
        } else {
            c.putNull("logprobs");
        }
        c.putNull("finish_reason");
        return c;
    }

    /**
     * A streamed piece of a tool call (chat only), in OpenAI's delta shape: the call's index, id, type and name
     * first, then pieces of its arguments text.
     */
    ObjectNode toolCallChunkChoice(int index, ToolCallEvent event, boolean first) {
        ObjectNode c = JsonBody.MAPPER.createObjectNode();
        c.put("index", index);
        ObjectNode delta = c.putObject("delta");
        if (first) {
            delta.put("role", "assistant");
        }
        ObjectNode call = delta.putArray("tool_calls").addObject();
        if (event instanceof ToolCallEvent.CallStart s) {
            call.put("index", s.index());
            call.put("id", s.id());
            call.put("type", "function");
            call.putObject("function").put("name", s.name()).put("arguments", "");
        } else if (event instanceof ToolCallEvent.CallArguments a) {
            call.put("index", a.index());
            call.putObject("function").put("arguments", a.chunk());
        } else {
            throw new IllegalArgumentException("not a tool-call event: " + event);
        }
        c.putNull("logprobs");
        c.putNull("finish_reason");
        return c;
    }

    /** The closing chunk of a choice: no text, its finish reason. */
    ObjectNode endChoice(int index, String finishReason) {
        ObjectNode c = JsonBody.MAPPER.createObjectNode();
        c.put("index", index);
        if (chat) {
            c.putObject("delta");
        } else {
            c.put("text", "");
        }
        c.putNull("logprobs");
        c.put("finish_reason", finishReason);
        return c;
    }

    /** A whole choice of a non-streamed response. */
    ObjectNode fullChoice(int index, String text, List<TokenDelta.TokenLogprob> logprobs, boolean wantLogprobs,
            String finishReason, ServedModel model) {
        ObjectNode c = JsonBody.MAPPER.createObjectNode();
        c.put("index", index);
        if (chat) {
            ObjectNode message = c.putObject("message");
            message.put("role", "assistant");
            message.put("content", text);
            message.putNull("refusal");
        } else {
            c.put("text", text);
        }
        if (wantLogprobs) {
            c.set("logprobs", logprobs(logprobs, model));
        } else {
            c.putNull("logprobs");
        }
        c.put("finish_reason", finishReason);
        return c;
    }

    /** A whole chat choice that called tools: {@code message.tool_calls}, content null when there was no text. */
    ObjectNode toolCallChoice(int index, String content, List<ToolCall> calls, String finishReason) {
        ObjectNode c = JsonBody.MAPPER.createObjectNode();
        c.put("index", index);
        ObjectNode message = c.putObject("message");
        message.put("role", "assistant");
        if (content.isBlank()) {
            message.putNull("content");
        } else {
            message.put("content", content);
        }
        message.putNull("refusal");
        ArrayNode array = message.putArray("tool_calls");
        for (ToolCall call : calls) {
            ObjectNode t = array.addObject();
            t.put("id", call.id());
            t.put("type", "function");
            t.putObject("function").put("name", call.name()).put("arguments", call.arguments());
        }
        c.putNull("logprobs");
        c.put("finish_reason", finishReason);
        return c;
    }

    static ObjectNode usage(int prompt, int completion) {
        ObjectNode u = JsonBody.MAPPER.createObjectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    private ObjectNode logprobs(List<TokenDelta.TokenLogprob> lps, ServedModel model) {
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        if (chat) {
            ArrayNode content = out.putArray("content");
            for (TokenDelta.TokenLogprob lp : lps) {
                ObjectNode entry = tokenEntry(model.tokenText(lp.tokenId()), lp.logprob());
                ArrayNode top = entry.putArray("top_logprobs");
                for (int i = 0; lp.topIds() != null && i < lp.topIds().length; i++) {
                    top.add(tokenEntry(model.tokenText(lp.topIds()[i]), lp.topLogprobs()[i]));
                }
                content.add(entry);
            }
            return out;
        }
        ArrayNode tokens = out.putArray("tokens");
        ArrayNode tokenLogprobs = out.putArray("token_logprobs");
        ArrayNode top = out.putArray("top_logprobs");
        for (TokenDelta.TokenLogprob lp : lps) {
            tokens.add(model.tokenText(lp.tokenId()));
            tokenLogprobs.add(lp.logprob());
            ObjectNode alternatives = top.addObject();
            for (int i = 0; lp.topIds() != null && i < lp.topIds().length; i++) {
                alternatives.put(model.tokenText(lp.topIds()[i]), lp.topLogprobs()[i]);
            }
        }
        return out;
    }

    private static ObjectNode tokenEntry(String token, float logprob) {
        ObjectNode e = JsonBody.MAPPER.createObjectNode();
        e.put("token", token);
        e.put("logprob", logprob);
        ArrayNode bytes = e.putArray("bytes");
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        return e;
    }
}
