package org.autoglm.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.autoglm.models.chat.ToolCallEvent;
import org.autoglm.models.chat.ToolCallFormat;
import org.autoglm.models.chat.ToolCallStream;
import org.autoglm.models.chat.ToolDefinition;
import org.autoglm.node.engine.TokenDelta;

/**
 * The answer of a chat request that may call tools: each choice's output goes through the checkpoint's tool-call
 * parser, as it streams ({@code delta.tool_calls}) or whole ({@code message.tool_calls}), and a choice that called
 * a tool finishes with {@code tool_calls}.
 */
final class ToolCallAnswers {

    private final ToolCallFormat format;
    private final List<ToolDefinition> tools;
    private final ToolCallStream[] streams;

    private ToolCallAnswers(ToolCallFormat format, List<ToolDefinition> tools, int choices) {
        this.format = format;
        this.tools = tools;
        this.streams = new ToolCallStream[choices];
        for (int i = 0; i < choices; i++) streams[i] = format.stream(tools);
    }

    /** Null when the request does not look for calls (no tools, or {@code tool_choice: "none"}). */
    static ToolCallAnswers of(StructuredRequest structured, ServedModel model, int choices) {
        return structured.parseToolCalls() ? new ToolCallAnswers(model.toolCallFormat(), structured.toolsForCalls(), choices) : null;
    }

    /** The chunks for the next piece of a choice's text; {@code first}: the choice has sent nothing yet. */
    List<ObjectNode> chunkChoices(int choice, String text, TokenDelta raw, boolean first, ResponseFormat shape,
                                  ServedModel model) {
        List<ObjectNode> out = chunks(choice, streams[choice].push(text), raw, first, shape, model);
        if (out.isEmpty() && raw != null && !raw.logprobs().isEmpty()) {
            out.add(shape.chunkChoice(choice, "", raw, first, model)); // logprobs of held-back text still go out
        }
        return out;
    }

    /** What a choice held back, once its output is complete. */
    List<ObjectNode> finishChunks(int choice, boolean first, ResponseFormat shape, ServedModel model) {
        return chunks(choice, streams[choice].finish(), null, first, shape, model);
    }

    /** {@code tool_calls} for a choice that stopped after calling a tool, else the engine's reason. */
    String finishReason(int choice, String reason) {
        return streams[choice].numCalls() > 0 && "stop".equals(reason) ? "tool_calls" : reason;
    }

    /** A whole choice: with {@code message.tool_calls} when the output holds calls, else plain text. */
    ObjectNode fullChoice(int choice, String text, List<TokenDelta.TokenLogprob> logprobs, boolean wantLogprobs,
                          String reason, ResponseFormat shape, ServedModel model) {
        ToolCallFormat.ParsedOutput parsed = format.parse(text, tools);
        if (parsed.calls().isEmpty()) {
            return shape.fullChoice(choice, text, logprobs, wantLogprobs, reason, model);
        }
        return shape.toolCallChoice(choice, parsed.content(), parsed.calls(), "stop".equals(reason) ? "tool_calls" : reason);
    }

    private static List<ObjectNode> chunks(int choice, List<ToolCallEvent> events, TokenDelta raw, boolean first,
                                           ResponseFormat shape, ServedModel model) {
        List<ObjectNode> out = new ArrayList<>();
        for (ToolCallEvent e : events) {
            boolean isFirst = first && out.isEmpty();
            if (e instanceof ToolCallEvent.Content c) {
                out.add(shape.chunkChoice(choice, c.text(), out.isEmpty() ? raw : null, isFirst, model));
            } else {
                out.add(shape.toolCallChunkChoice(choice, e, isFirst));
            }
        }
        return out;
    }
}
