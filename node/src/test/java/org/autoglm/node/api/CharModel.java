package org.autoglm.node.api;

import java.util.List;
import org.autoglm.node.session.Message;

/** A served model whose tokens are characters: prompt lengths in tests are easy to reason about. */
final class CharModel implements ServedModel {

    private final String name;
    private final int context;

    CharModel(String name, int context) {
        this.name = name;
        this.context = context;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int contextLength() {
        return context;
    }

    @Override
    public int vocabSize() {
        return 1000;
    }

    @Override
    public int[] encode(String text) {
        return text.chars().map(c -> c % 1000).toArray();
    }

    @Override
    public int[] encodeChat(List<Message> messages) {
        StringBuilder b = new StringBuilder();
        for (Message m : messages) {
            b.append("<").append(m.role()).append(">").append(m.content());
        }
        return encode(b.append("<assistant>").toString());
    }

    @Override
    public String tokenText(int id) {
        return "t" + id;
    }
}
