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
