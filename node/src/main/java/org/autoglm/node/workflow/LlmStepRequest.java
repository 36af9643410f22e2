package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.workflow.WorkflowTemplate.Step;

/** The chat-completions request of an llm step. */
final class LlmStepRequest {

    private LlmStepRequest() {}

    /** The body of {@code /v1/chat/completions} for {@code s} with its messages rendered. */
    static ObjectNode chatBody(Step s, List<Map<String, String>> messages) {
        ObjectNode body = JsonBody.MAPPER.createObjectNode();
        body.set("messages", JsonBody.MAPPER.valueToTree(messages));
        for (String f : TemplateValidator.CHAT_FIELDS) {
            if (s.json().has(f)) {
                body.set(f, s.json().get(f).deepCopy());
            }
        }
        if (s.priority() != null) {
            body.put("priority", s.priority());
        }
        if (!s.requiredTags().isEmpty()) {
            body.set("required_tags", JsonBody.MAPPER.valueToTree(s.requiredTags()));
        }
        return body;
    }
}
