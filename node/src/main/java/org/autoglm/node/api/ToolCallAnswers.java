package org.autoglm.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.models.chat.ToolCall;
import org.autoglm.models.chat.ToolCallEvent;
import org.autoglm.models.chat.ToolCallFormat;
import org.autoglm.models.chat.ToolCallStream;
import org.autoglm.models.chat.ToolDefinition;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.session.Message;

/**
 * The answer of a chat request that may call tools: each choice's output goes through the checkpoint's tool-call
 * parser, as it streams ({@code delta.tool_calls}) or whole ({@code message.tool_calls}), and a choice that called
 * a tool finishes with {@code tool_calls}.
 */
final class ToolCallAnswers {

    private final ToolCallFormat format;
    private final List<ToolDefinition> tools;
    private final ToolCallStream[] streams;
    /** Per choice: what was answered (text and calls with their ids), for a session's history. */
    private final Answered[] answered;

    private ToolCallAnswers(ToolCallFormat format, List<ToolDefinition> tools, int choices) {
        this.format = format;
        this.tools = tools;
        this.streams = new ToolCallStream[choices];
        this.answered = new Answered[choices];
        for (int i = 0; i < choices; i++) {
            streams[i] = format.stream(tools);
            answered[i] = new Answered();
        }
    }

    /** Null when the request does not look for calls (no tools, or {@code tool_choice: "none"}). */
    static ToolCallAnswers of(StructuredRequest structured, ServedModel model, int choices) {
        return structured.parseToolCalls() ? new ToolCallAnswers(model.toolCallFormat(), structured.toolsForCalls(), choices) : null;
    }

    /** The chunks for the next piece of a choice's text; {@code first}: the choice has sent nothing yet. */
    List<ObjectNode> chunkChoices(int choice, String text, TokenDelta raw, boolean first, ResponseFormat shape,
                                  ServedModel model) {
        List<ObjectNode> out = chunks(choice, record(choice, streams[choice].push(text)), raw, first, shape, model);
        if (out.isEmpty() && raw != null && !raw.logprobs().isEmpty()) {
            out.add(shape.chunkChoice(choice, "", raw, first, model)); // logprobs of held-back text still go out
        }
        return out;
    }

    /** What a choice held back, once its output is complete. */
    List<ObjectNode> finishChunks(int choice, boolean first, ResponseFormat shape, ServedModel model) {
        return chunks(choice, record(choice, streams[choice].finish()), null, first, shape, model);
    }

    /** {@code tool_calls} for a choice that stopped after calling a tool, else the engine's reason. */
    String finishReason(int choice, String reason) {
        return streams[choice].numCalls() > 0 && "stop".equals(reason) ? "tool_calls" : reason;
    }

    /** A whole choice: with {@code message.tool_calls} when the output holds calls, else plain text. */
    ObjectNode fullChoice(int choice, String text, List<TokenDelta.TokenLogprob> logprobs, boolean wantLogprobs,
                          String reason, ResponseFormat shape, ServedModel model) {
        ToolCallFormat.ParsedOutput parsed = format.parse(text, tools);
        answered[choice].content.append(parsed.content());
        answered[choice].calls.addAll(parsed.calls());
        if (parsed.calls().isEmpty()) {
            return shape.fullChoice(choice, text, logprobs, wantLogprobs, reason, model);
        }
        return shape.toolCallChoice(choice, parsed.content(), parsed.calls(), "stop".equals(reason) ? "tool_calls" : reason);
    }

    /**
     * The assistant turn a choice answered, as the session's history keeps it: its text and the calls with the ids
     * the client saw (a {@code tool} message answering one names that id); null when it called nothing.
     */
    Message assistantTurn(int choice) {
        Answered a = answered[choice];
        if (a.calls.isEmpty()) {
            return null;
        }
        List<ToolCall> calls = new ArrayList<>();
        for (ToolCall c : a.calls) {
            StringBuilder args = a.streamedArguments.get(c.id());
            calls.add(args == null ? c : new ToolCall(c.id(), c.name(), args.toString()));
        }
        return new Message("assistant", a.content.toString(), calls, null);
    }

    private List<ToolCallEvent> record(int choice, List<ToolCallEvent> events) {
        Answered a = answered[choice];
        for (ToolCallEvent e : events) {
            if (e instanceof ToolCallEvent.Content c) {
                a.content.append(c.text());
            } else if (e instanceof ToolCallEvent.CallStart start) {
                a.calls.add(new ToolCall(start.id(), start.name(), ""));
                a.streamedArguments.put(start.id(), new StringBuilder());
            } else if (e instanceof ToolCallEvent.CallArguments args) {
                a.streamedArguments.get(a.calls.get(args.index()).id()).append(args.chunk());
            }
        }
        return events;
    }

    private static final class Answered {
        final StringBuilder content = new StringBuilder();
        final List<ToolCall> calls = new ArrayList<>();
        final Map<String, StringBuilder> streamedArguments = new HashMap<>();
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
