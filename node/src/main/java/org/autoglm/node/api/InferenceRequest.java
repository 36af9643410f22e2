package org.autoglm.node.api;

import java.util.List;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.session.Message;

/**
 * A validated chat or completion request.
 *
 * @param model        the served model name asked for
 * @param messages     chat messages (chat only, else empty)
 * @param prompts      completion prompts, each text or token ids (completions only, else empty)
 * @param params       sampling; {@code maxTokens} is 0 when the client left it to us (fill the context)
 * @param n            choices per prompt
 * @param stream       answer as server-sent events
 * @param includeUsage send a usage chunk at the end of a stream
 * @param logprobs     top log-probabilities per token, or -1 for none
 * @param priority     scheduling priority (lower first)
 * @param user         the client's end-user id, for audit
 * @param sessionId    server-side session (chat only), or null
 * @param requiredTags capability tags the executing node must have (cluster placement), possibly empty
 * @param structured   response_format / structured_outputs / tools: the output's shape
 */
record InferenceRequest(
        String model,
        List<Message> messages,
        List<Prompt> prompts,
        SamplingParams params,
        int n,
        boolean stream,
        boolean includeUsage,
        int logprobs,
        int priority,
        String user,
        String sessionId,
        List<String> requiredTags,
        StructuredRequest structured) {

    /** One completion prompt: text, or token ids ({@code text} null). */
    record Prompt(String text, int[] ids) {}

    /** The texts plugins see: message contents or prompt strings. */
    List<String> texts() {
        if (!messages.isEmpty()) {
            return messages.stream().map(Message::content).toList();
        }
        return prompts.stream().filter(p -> p.text() != null).map(Prompt::text).toList();
    }

    /** The same request with its texts replaced (by a plugin), in {@link #texts()} order. */
    InferenceRequest withTexts(List<String> texts) {
        if (!messages.isEmpty()) {
            List<Message> m = new java.util.ArrayList<>();
            for (int i = 0; i < messages.size(); i++) {
                m.add(messages.get(i).withContent(texts.get(i)));
            }
            return new InferenceRequest(model, m, prompts, params, n, stream, includeUsage, logprobs, priority, user,
                    sessionId, requiredTags, structured);
        }
        List<Prompt> p = new java.util.ArrayList<>();
        int t = 0;
        for (Prompt prompt : prompts) {
            p.add(prompt.text() == null ? prompt : new Prompt(texts.get(t++), null));
        }
        return new InferenceRequest(model, messages, p, params, n, stream, includeUsage, logprobs, priority, user,
                sessionId, requiredTags, structured);
    }
}
