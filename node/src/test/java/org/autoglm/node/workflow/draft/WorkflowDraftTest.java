package org.autoglm.node.workflow.draft;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /v1/workflows/draft} on a real node serving the random demo model: whatever the model draws, the draft
 * is a template that matches the served template schema and that the server accepts as any other template; with
 * {@code save=true} it is stored and listed.
 */
class WorkflowDraftTest {

    static final ObjectMapper JSON = DemoWorkflowNode.JSON;

    @Test
    void everyDraftOfTheRandomModelIsAValidTemplate() throws Exception {
        JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(get("/v1/workflows/schema").body());
        List<String> descriptions = List.of("Classify support tickets by urgency and draft a reply to each.",
                "Summarise a news article, then translate the summary into French.",
                "从用户评论中提取产品名称并判断情绪。");
        long seed = 1;
        for (String description : descriptions) {
            ObjectNode request = JSON.createObjectNode().put("description", description).put("seed", seed++)
                    .put("temperature", 1.0);
            request.putArray("examples").add("a ticket saying the site is down -> urgent");
            HttpResponse<String> r = post("/v1/workflows/draft", request.toString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode draft = JSON.readTree(r.body());
            JsonNode template = draft.get("template");
            assertThat(schema.validate(template)).as(template.toString()).isEmpty();
            assertThat(template.get("description").asText()).isEqualTo(description);
            assertThat(template.get("steps").size()).isBetween(1, 3);
            assertThat(draft.get("saved").asBoolean()).isFalse();
            // what the server accepts from anyone who writes a template
            HttpResponse<String> created = post("/v1/workflows", template.toString());
            assertThat(created.statusCode()).as(created.body() + "\n" + template).isEqualTo(201);
        }
    }

    @Test
    void aSavedDraftIsListedUnderItsName() throws Exception {
        HttpResponse<String> r = post("/v1/workflows/draft?save=true", JSON.createObjectNode()
                .put("description", "Answer a question in one sentence.").put("name", "saved-draft").put("seed", 7)
                .toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode draft = JSON.readTree(r.body());
        assertThat(draft.get("saved").asBoolean()).isTrue();
        assertThat(draft.get("version").asInt()).isEqualTo(1);
        JsonNode listed = JSON.readTree(get("/v1/workflows").body());
        assertThat(listed.get("data").findValuesAsText("name")).contains("saved-draft");
        JsonNode stored = JSON.readTree(get("/v1/workflows/saved-draft").body());
        assertThat(stored.get("steps")).isEqualTo(draft.at("/template/steps"));
    }

    @Test
    void mistakesInTheRequestAreNamed() throws Exception {
        assertError(post("/v1/workflows/draft", "{}"), 400, "description");
        assertError(post("/v1/workflows/draft", "{\"description\": \"x\", \"steps\": []}"), 400, "steps");
        assertError(post("/v1/workflows/draft", "{\"description\": \"x\", \"name\": \"no spaces\"}"), 400, "name");
        assertError(post("/v1/workflows/draft", "{\"description\": \"x\", \"temperature\": 5}"), 400, "temperature");
        assertError(post("/v1/workflows/draft?save=yes", "{\"description\": \"x\"}"), 400, "save");
    }

    private static void assertError(HttpResponse<String> r, int status, String param) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(JSON.readTree(r.body()).at("/error/param").asText()).isEqualTo(param);
    }

    static HttpResponse<String> get(String path) throws Exception {
        return DemoWorkflowNode.get(path);
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return DemoWorkflowNode.post(path, body);
    }
}
