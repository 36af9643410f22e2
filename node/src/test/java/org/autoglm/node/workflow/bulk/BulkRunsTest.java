package org.autoglm.node.workflow.bulk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.autoglm.node.workflow.draft.DemoWorkflowNode;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /v1/workflows/{name}/runs/bulk} on a real node: one run per line of an uploaded JSONL file, bad lines
 * reported by number without failing the others, the runs listed in the answer and in its output file, and run.
 */
class BulkRunsTest {

    static final String TEMPLATE = """
            {"name": "bulk-shout",
             "params": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
             "steps": [{"id": "shout", "kind": "transform", "expression": "{{ params.word ~ '!' }}"}],
             "output": "{{ steps.shout.output }}"}
            """;

    @Test
    void eachGoodLineStartsARunAndEachBadOneIsReportedByNumber() throws Exception {
        HttpResponse<String> created = DemoWorkflowNode.post("/v1/workflows", TEMPLATE);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String fileId = DemoWorkflowNode.upload("{\"word\": \"a\"}\n\n{\"word\": 5}\nnot json\n[1]\n{\"word\": \"d\"}\n");

        HttpResponse<String> r = DemoWorkflowNode.post("/v1/workflows/bulk-shout/runs/bulk",
                "{\"input_file_id\": \"" + fileId + "\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode bulk = DemoWorkflowNode.JSON.readTree(r.body());
        assertThat(bulk.get("id").asText()).startsWith("wfbulk_");
        assertThat(bulk.get("counts").toString()).isEqualTo("{\"total\":5,\"created\":2,\"rejected\":3}");
        assertThat(bulk.get("errors").findValuesAsText("line")).containsExactly("3", "4", "5");
        assertThat(bulk.at("/errors/0/param").asText()).isEqualTo("/params/word");
        assertThat(bulk.at("/errors/1/message").asText()).contains("not JSON");

        List<String> outputs = new java.util.ArrayList<>();
        for (JsonNode id : bulk.get("run_ids")) {
            await().atMost(Duration.ofSeconds(60)).until(() -> DemoWorkflowNode.JSON.readTree(DemoWorkflowNode
                    .get("/v1/workflow-runs/" + id.asText()).body()).path("status").asText().equals("succeeded"));
            outputs.add(DemoWorkflowNode.JSON.readTree(DemoWorkflowNode.get("/v1/workflow-runs/" + id.asText())
                    .body()).get("output").asText());
        }
        assertThat(outputs).containsExactly("a!", "d!");

        String listed = DemoWorkflowNode.get("/v1/files/" + bulk.get("output_file_id").asText() + "/content").body();
        List<JsonNode> lines = listed.lines().map(l -> {
            try {
                return DemoWorkflowNode.JSON.readTree(l);
            } catch (Exception e) {
                throw new AssertionError(l, e);
            }
        }).toList();
        assertThat(lines).hasSize(5);
        assertThat(lines.get(0).get("run_id").asText()).isEqualTo(bulk.at("/run_ids/0").asText());
        assertThat(lines.get(1).at("/error/param").asText()).isEqualTo("/params/word");
        assertThat(lines.get(4).get("line").asInt()).isEqualTo(6);
    }

    @Test
    void aMissingTemplateOrFileOrAnUnknownFieldFailsTheWholeRequest() throws Exception {
        String fileId = DemoWorkflowNode.upload("{\"word\": \"a\"}\n");
        assertError(DemoWorkflowNode.post("/v1/workflows/no-such/runs/bulk", "{\"input_file_id\": \"" + fileId + "\"}"),
                404, "name");
        assertError(DemoWorkflowNode.post("/v1/workflows/bulk-shout/runs/bulk", "{\"input_file_id\": \"file-x\"}"),
                404, "input_file_id");
        assertError(DemoWorkflowNode.post("/v1/workflows/bulk-shout/runs/bulk", "{\"input_file_id\": \"" + fileId
                + "\", \"params\": {}}"), 400, "params");
        assertError(DemoWorkflowNode.post("/v1/workflows/bulk-shout/runs/bulk", "{}"), 400, "input_file_id");
    }

    private static void assertError(HttpResponse<String> r, int status, String param) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(DemoWorkflowNode.JSON.readTree(r.body()).at("/error/param").asText()).isEqualTo(param);
    }
}
