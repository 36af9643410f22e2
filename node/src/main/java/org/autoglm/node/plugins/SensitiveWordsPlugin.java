package org.autoglm.node.plugins;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code sensitive-words}: blocks or masks words from a list (one per line, UTF-8, {@code #} comments) in
 * the request text and in the streamed output, including words split across two chunks.
 *
 * <p>Options: {@code file} (required), {@code policy} = {@code reject} (default: input gets 400
 * {@code content_filtered}, output stops with finish reason {@code content_filter}) or {@code mask} (each
 * char of a match becomes {@code *}).
 */
public final class SensitiveWordsPlugin implements NodePlugin {

    public static final String NAME = "sensitive-words";

    private AhoCorasick words;
    private boolean mask;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void configure(PluginConfig config) throws IOException {
        Path file = Path.of(config.require("file"));
        String policy = config.get("policy", "reject");
        if (!policy.equals("reject") && !policy.equals("mask")) {
            throw new IllegalArgumentException("sensitive-words policy must be 'reject' or 'mask', got '" + policy + "'");
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("sensitive-words file " + file + " is not readable");
        }
        List<String> list = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String w = line.strip();
            if (!w.isEmpty() && !w.startsWith("#")) {
                list.add(w);
            }
        }
        this.words = new AhoCorasick(list);
        this.mask = policy.equals("mask");
    }

    @Override
    public RequestHooks onRequest(PluginRequest request) throws ContentRejectedException {
        List<String> inputs = request.inputs();
        if (mask) {
            request.replaceInputs(inputs.stream().map(words::mask).toList());
        } else {
            for (String text : inputs) {
                if (words.matches(text)) {
                    throw new ContentRejectedException("The request contains a blocked word.");
                }
            }
        }
        return new OutputFilter();
    }

    /** One matcher per choice, so each choice's text is scanned as one continuous string. */
    private final class OutputFilter implements RequestHooks {
        private final Map<Integer, AhoCorasick.Stream> streams = new HashMap<>();

        @Override
        public String onDelta(int choice, String text) throws ContentRejectedException {
            return streams.computeIfAbsent(choice, c -> words.new Stream(mask)).accept(text);
        }

        @Override
        public String onChoiceEnd(int choice) {
            AhoCorasick.Stream s = streams.remove(choice);
            return s == null ? "" : s.flush();
        }
    }
}
