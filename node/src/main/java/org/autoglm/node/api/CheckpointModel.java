package org.autoglm.node.api;

import java.util.List;
import org.autoglm.models.chat.ChatMessage;
import org.autoglm.models.chat.ChatTemplate;
import org.autoglm.models.chat.ToolCallFormat;
import org.autoglm.models.chat.ToolDefinition;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.autoglm.node.session.Message;

/** A checkpoint's own tokenizer and chat template, as the API uses them. */
public final class CheckpointModel implements ServedModel {

    /** Texts longer than this many characters per allowed token are counted in pieces before they are tokenized. */
    private static final int EAGER_CHARS_PER_TOKEN = 4;

    private final String name;
    private final int contextLength;
    private final int vocabSize;
    private final GlmTokenizer tokenizer;
    private final ChatTemplate template;
    private final ToolCallFormat toolCallFormat;

    /**
     * @param contextLength longest prompt + output the engine accepts
     * @param vocabSize     rows of the model's embedding: token-id prompts must stay below it
     */
    public CheckpointModel(String name, int contextLength, int vocabSize, GlmTokenizer tokenizer, ChatTemplate template) {
        this(name, contextLength, vocabSize, tokenizer, template, ToolCallFormat.select("auto", template));
    }

    /** @param toolCallFormat how the checkpoint writes tool calls ({@code --tool-call-parser}) */
    public CheckpointModel(String name, int contextLength, int vocabSize, GlmTokenizer tokenizer, ChatTemplate template,
                           ToolCallFormat toolCallFormat) {
        this.toolCallFormat = toolCallFormat;
        this.name = name;
        this.contextLength = contextLength;
        this.vocabSize = Math.min(vocabSize, tokenizer.vocabSize());
        this.tokenizer = tokenizer;
        this.template = template;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int[] encode(String text) {
        return tokenizer.encode(text);
    }

    @Override
    public int[] encodeChat(List<Message> messages) {
        List<ChatMessage> chat = messages.stream().map(m -> new ChatMessage(m.role(), m.content())).toList();
        return tokenizer.encode(template.render(chat, true));
    }

    /**
     * A text of up to a few characters per allowed token is tokenized at once (bounded work); a longer one is first
     * counted piece by piece, which stops soon after the limit: a multi-megabyte prompt is refused in milliseconds.
     */
    @Override
    public int[] encodeAtMost(String text, int maxTokens) {
        if (text.length() > EAGER_CHARS_PER_TOKEN * (long) maxTokens + 1024 && tokenizer.exceeds(text, maxTokens)) {
            return null;
        }
        int[] ids = tokenizer.encode(text);
        return ids.length > maxTokens ? null : ids;
    }

    @Override
    public int[] encodeChatAtMost(List<Message> messages, int maxTokens) {
        // One message far past the limit is refused before the template renders it (rendering copies it, slowly).
        for (Message m : messages) {
            if (m.content() != null && m.content().length() > EAGER_CHARS_PER_TOKEN * (long) maxTokens + 1024
                    && tokenizer.exceeds(m.content(), maxTokens + 2)) { // +2: its edges may merge with the template's text
                return null;
            }
        }
        List<ChatMessage> chat = messages.stream().map(m -> new ChatMessage(m.role(), m.content())).toList();
        return encodeAtMost(template.render(chat, true), maxTokens);
    }

    @Override
    public int[] encodeChat(List<Message> messages, List<ToolDefinition> tools) {
        List<ChatMessage> chat = messages.stream()
                .map(m -> new ChatMessage(m.role(), m.content(), m.toolCalls(), m.toolCallId())).toList();
        return tokenizer.encode(template.render(chat, true, tools, toolCallFormat));
    }

    @Override
    public ToolCallFormat toolCallFormat() {
        return toolCallFormat;
    }

    @Override
    public String tokenText(int id) {
        return tokenizer.decode(new int[] {id}, false);
    }
}
