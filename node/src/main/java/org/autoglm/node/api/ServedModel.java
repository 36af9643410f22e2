package org.autoglm.node.api;

import java.util.List;
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

    /** The text of one token, for logprobs ({@code ""} if it is not valid UTF-8 on its own). */
    String tokenText(int id);
}
