package org.autoglm.node.api;

import java.util.List;
import org.autoglm.models.chat.ToolCallFormat;
import org.autoglm.models.chat.ToolDefinition;
import org.autoglm.node.session.Message;

/** The model as the API needs it: its name, limits, and its text front end (tokenizer, chat template). */
public interface ServedModel {

    /** Name clients put in {@code model} (the checkpoint directory's name unless overridden). */
    String name();

    /** Prompt plus generated tokens may not exceed this. */
    int contextLength();

    /** Token ids must lie in [0, vocabSize). */
    int vocabSize();

    /** Plain text to ids, without special tokens. */
    int[] encode(String text);

    /** A conversation rendered with the model's chat template and the generation prompt, tokenized. */
    int[] encodeChat(List<Message> messages);

    /**
     * A conversation with tools (calls and results in its turns, function definitions for the model), rendered
     * through the checkpoint's template in its tool-call format.
     */
    default int[] encodeChat(List<Message> messages, List<ToolDefinition> tools) {
        if (!tools.isEmpty()) {
            throw new IllegalArgumentException("this model cannot show tools to the model");
        }
        return encodeChat(messages); // tool turns as their role and text
    }

    /** How this checkpoint writes tool calls ({@code --tool-call-parser}). */
    default ToolCallFormat toolCallFormat() {
        return ToolCallFormat.select("glm4", null);
    }

    /**
     * {@link #encode}, or null when the text has more than {@code maxTokens} tokens; a model whose tokenizer can stop
     * early answers that in time proportional to {@code maxTokens}, however long the text.
     */
    default int[] encodeAtMost(String text, int maxTokens) {
        int[] ids = encode(text);
        return ids.length > maxTokens ? null : ids;
    }

    /** {@link #encodeChat}, or null when the rendered conversation has more than {@code maxTokens} tokens. */
    default int[] encodeChatAtMost(List<Message> messages, int maxTokens) {
        int[] ids = encodeChat(messages);
        return ids.length > maxTokens ? null : ids;
    }

    /** The text of one token, for logprobs ({@code ""} if it is not valid UTF-8 on its own). */
    String tokenText(int id);
}
