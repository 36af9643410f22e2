package org.autoglm.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.autoglm.models.chat.ToolCall;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.session.Message;

/**
 * Turns an OpenAI request body into an {@link InferenceRequest}, checking every field's type and range and
 * naming the field in the error. Unknown fields are ignored, as OpenAI-compatible servers do; known ones that
 * would change the answer and cannot be honoured are refused ({@link UnsupportedFields}).
 */
final class RequestParser {

    static final int MAX_N = 16;
    static final int MAX_STOP = 16;
    static final int MAX_LOGPROBS = 20;
    static final int MAX_TAGS = 16;
    /** {@code developer} is OpenAI's newer name for {@code system} (o1 and later); the template sees {@code system}. */
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool", "observation");

    private RequestParser() {}

    static InferenceRequest chat(ObjectNode body, ServedModel model) {
        Params p = new Params(body);
        UnsupportedFields.refuseChat(p);
        List<Message> messages = messages(p.node("messages"));
        int logprobs = -1;
        if (p.bool("logprobs", false)) {
            logprobs = p.integer("top_logprobs", 0, 0, MAX_LOGPROBS);
        } else if (p.has("top_logprobs")) {
            p.integer("top_logprobs", 0, 0, MAX_LOGPROBS);
            throw ApiError.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true.");
        }
        String sessionId = p.string("session_id", null);
        StructuredRequest structured = StructuredRequestParser.parse(p, true, model);
        return common(p, model, messages, List.of(), logprobs, sessionId, structured);
    }

    static InferenceRequest completion(ObjectNode body, ServedModel model) {
        Params p = new Params(body);
        UnsupportedFields.refuseCompletion(p);
        List<InferenceRequest.Prompt> prompts = prompts(p.node("prompt"), model);
        int logprobs = p.integer("logprobs", -1, 0, MAX_LOGPROBS);
        if (p.has("session_id")) {
            throw ApiError.invalid("session_id", "Sessions work with /v1/chat/completions only.");
        }
        return common(p, model, List.of(), prompts, logprobs, null, StructuredRequestParser.parse(p, false, model));
    }

    private static InferenceRequest common(Params p, ServedModel model, List<Message> messages,
            List<InferenceRequest.Prompt> prompts, int logprobs, String sessionId, StructuredRequest structured) {
        String name = p.string("model", model.name());
        int context = model.contextLength();
        Integer maxTokens = p.integer("max_completion_tokens", null, 1, context);
        if (maxTokens == null) {
            maxTokens = p.integer("max_tokens", 0, 1, context);
        }
        double temperature = p.number("temperature", 1.0, 0, 2);
        double topP = p.number("top_p", 1.0, 0, 1);
        if (topP == 0) {
            throw ApiError.invalid("top_p", "'top_p' must be greater than 0 and at most 1.");
        }
        int topK = p.integer("top_k", 0, -1, Integer.MAX_VALUE);
        double minP = p.number("min_p", 0, 0, 1);
        double repetition = p.number("repetition_penalty", 1.0, 0.01, 10);
        double presence = p.number("presence_penalty", 0, -2, 2);
        double frequency = p.number("frequency_penalty", 0, -2, 2);
        Long seed = p.longValue("seed");
        List<String> stop = p.stringOrList("stop", MAX_STOP);
        if (stop.stream().anyMatch(String::isEmpty)) {
            throw ApiError.invalid("stop", "'stop' strings must not be empty.");
        }
        boolean ignoreEos = p.bool("ignore_eos", false);
        int n = p.integer("n", 1, 1, MAX_N);
        boolean stream = p.bool("stream", false);
        boolean includeUsage = false;
        JsonNode streamOptions = p.node("stream_options");
        if (streamOptions != null) {
            if (!streamOptions.isObject()) {
                throw ApiError.invalid("stream_options", "'stream_options' must be an object.");
            }
            includeUsage = new Params((ObjectNode) streamOptions).bool("include_usage", false);
        }
        int priority = p.integer("priority", 0, -1_000_000, 1_000_000);
        String user = p.string("user", null);
        List<String> requiredTags = p.stringOrList("required_tags", MAX_TAGS);
        SamplingParams params = new SamplingParams(temperature, topP, topK <= 0 ? 0 : topK, minP, repetition,
                presence, frequency, seed, maxTokens, stop, ignoreEos, logprobs, logitBias(p.node("logit_bias"), model));
        return new InferenceRequest(name, messages, prompts, params, n, stream, includeUsage, logprobs, priority,
                user, sessionId, requiredTags, structured);
    }

    private static List<Message> messages(JsonNode node) {
        if (node == null) {
            throw ApiError.invalid("messages", "'messages' is required: a list of {\"role\", \"content\"} objects.");
        }
        if (!node.isArray() || node.isEmpty()) {
            throw ApiError.invalid("messages", "'messages' must be a non-empty list of {\"role\", \"content\"} objects.");
        }
        List<Message> out = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            String where = "messages[" + i + "]";
            JsonNode m = node.get(i);
            if (!m.isObject()) {
                throw ApiError.invalid(where, "'" + where + "' must be an object with 'role' and 'content'.");
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.textValue())) {
                throw ApiError.invalid(where + ".role", "'" + where + ".role' must be one of " + ROLES + ".");
            }
            String name = role.textValue().equals("developer") ? "system" : role.textValue();
            out.add(message(name, (ObjectNode) m, where));
        }
        return out;
    }

    /** OpenAI {@code logit_bias}: {"token id": bias in [-100, 100], ...}, ids within the vocabulary. */
    private static Map<Integer, Float> logitBias(JsonNode node, ServedModel model) {
        if (node == null) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw ApiError.invalid("logit_bias", "'logit_bias' must be an object mapping token ids to numbers"
                    + " from -100 to 100, e.g. {\"1234\": -100}.");
        }
        Map<Integer, Float> out = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey().strip());
            } catch (NumberFormatException bad) {
                throw ApiError.invalid("logit_bias", "'logit_bias' keys must be token ids, got '" + e.getKey() + "'.");
            }
            if (id < 0 || id >= model.vocabSize()) {
                throw ApiError.invalid("logit_bias", "'logit_bias' token id " + id + " is outside the vocabulary (0 to "
                        + (model.vocabSize() - 1) + ").");
            }
            JsonNode v = e.getValue();
            if (!v.isNumber() || !(v.doubleValue() >= -100 && v.doubleValue() <= 100)) {
                throw ApiError.invalid("logit_bias", "'logit_bias' values must be numbers from -100 to 100, got "
                        + v + " for token " + id + ".");
            }
            out.put(id, v.floatValue());
        }
        return out;
    }

    /** One message; an assistant turn may have {@code tool_calls} (and then no content), a tool turn names its call. */
    private static Message message(String role, ObjectNode m, String where) {
        JsonNode calls = m.get("tool_calls");
        List<ToolCall> toolCalls = new ArrayList<>();
        if (calls != null && !calls.isNull()) {
            if (!"assistant".equals(role) || !calls.isArray()) {
                throw ApiError.invalid(where + ".tool_calls", "'" + where + ".tool_calls' is a list, on assistant messages only.");
            }
            for (int j = 0; j < calls.size(); j++) {
                String at = where + ".tool_calls[" + j + "]";
                JsonNode f = calls.get(j).path("function");
                if (!f.path("name").isTextual() || !f.path("arguments").isTextual()) {
                    throw ApiError.invalid(at, "'" + at + "' must be {\"id\", \"type\": \"function\", \"function\": "
                            + "{\"name\": ..., \"arguments\": \"<JSON text>\"}}.");
                }
                try {
                    if (!JsonBody.MAPPER.readTree(f.get("arguments").textValue()).isObject()) throw new IllegalArgumentException();
                } catch (Exception e) {
                    throw ApiError.invalid(at + ".function.arguments", "'" + at + ".function.arguments' must be a JSON "
                            + "object written as a string.");
                }
                toolCalls.add(new ToolCall(calls.get(j).path("id").asText(null), f.get("name").textValue(),
                        f.get("arguments").textValue()));
            }
        }
        JsonNode c = m.get("content");
        String content = (c == null || c.isNull()) && !toolCalls.isEmpty() ? "" : content(c, where + ".content");
        String toolCallId = null;
        if ("tool".equals(role)) {
            JsonNode id = m.get("tool_call_id");
            if (id == null || !id.isTextual()) {
                throw ApiError.invalid(where + ".tool_call_id", "'" + where + ".tool_call_id' is required on tool messages.");
            }
            toolCallId = id.textValue();
        }
        return new Message(role, wellFormed(content, where + ".content"), toolCalls, toolCallId);
    }

    /** A string, or a list of {@code {"type":"text","text":...}} parts joined. */
    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) {
            throw ApiError.invalid(where, "'" + where + "' is required.");
        }
        if (c.isTextual()) {
            return c.textValue();
        }
        if (c.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : c) {
                JsonNode type = part.get("type");
                JsonNode t = part.get("text");
                if (type == null || !"text".equals(type.asText()) || t == null || !t.isTextual()) {
                    throw ApiError.invalid(where, "'" + where + "' parts must be {\"type\": \"text\", \"text\": ...}; "
                            + "this model reads text only.");
                }
                text.append(t.textValue());
            }
            return text.toString();
        }
        throw ApiError.invalid(where, "'" + where + "' must be a string or a list of text parts.");
    }

    private static List<InferenceRequest.Prompt> prompts(JsonNode node, ServedModel model) {
        String what = "'prompt' must be a string, a list of strings, a list of token ids, or a list of such lists.";
        if (node == null) {
            throw ApiError.invalid("prompt", "'prompt' is required.");
        }
        if (node.isTextual()) {
            return List.of(new InferenceRequest.Prompt(wellFormed(node.textValue(), "prompt"), null));
        }
        if (!node.isArray() || node.isEmpty()) {
            throw ApiError.invalid("prompt", what);
        }
        if (node.get(0).isNumber()) {
            return List.of(new InferenceRequest.Prompt(null, ids(node, "prompt", model)));
        }
        if (node.size() > MAX_N) {
            throw ApiError.invalid("prompt", "At most " + MAX_N + " prompts per request.");
        }
        List<InferenceRequest.Prompt> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode item = node.get(i);
            if (item.isTextual()) {
                out.add(new InferenceRequest.Prompt(wellFormed(item.textValue(), "prompt[" + i + "]"), null));
            } else if (item.isArray() && !item.isEmpty()) {
                out.add(new InferenceRequest.Prompt(null, ids(item, "prompt[" + i + "]", model)));
            } else {
                throw ApiError.invalid("prompt", what);
            }
        }
        return out;
    }

    /** Text must be valid Unicode: JSON escapes can smuggle in lone surrogates that no tokenizer accepts. */
    static String wellFormed(String text, String where) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw ApiError.invalid(where, "'" + where + "' contains an unpaired UTF-16 surrogate (\\u"
                        + Integer.toHexString(c) + "); send valid Unicode text.");
            }
        }
        return text;
    }

    private static int[] ids(JsonNode array, String where, ServedModel model) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode v = array.get(i);
            if (!v.isIntegralNumber()) {
                throw ApiError.invalid(where, "'" + where + "' token ids must be integers.");
            }
            ids[i] = Params.toInt(v, where, 0, model.vocabSize() - 1);
        }
        return ids;
    }
}
