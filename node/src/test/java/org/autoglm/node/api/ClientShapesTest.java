package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.autoglm.node.session.Message;
import org.autoglm.node.telemetry.Telemetry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The request shapes real OpenAI clients send (issue 15, each seen failing with a real client), over real HTTP:
 * accepted where we can honour them, a 400 naming the field where we cannot, never silently ignored.
 */
class ClientShapesTest {

    static final ScriptedEngine engine = new ScriptedEngine();
    static final CharModel model = new CharModel("test-model", 512);
    static ServingState state;
    static Telemetry telemetry;
    static ApiServer server;
    static Http http;

    @BeforeAll
    static void start() {
        state = new ServingState();
        telemetry = new Telemetry(model.name(), state::load, null, null);
        server = ApiServer.create(c -> {
            c.port = 0;
            c.defaultMaxTokens = 7;
            c.state = state;
            c.telemetry = telemetry;
        }).start();
        state.ready(new ServingState.Loaded(model, engine, engine));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        server.close();
        telemetry.close();
        engine.shutdown();
    }

    @Test
    void theDeveloperRoleIsTheSystemPrompt() {
        Http.Response r = chat("""
                [{"role":"developer","content":"Be brief."},{"role":"user","content":"hi"}]""", "");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(engine.lastRequest.promptIds()).isEqualTo(model.encodeChat(List.of(
                new Message("system", "Be brief."), new Message("user", "hi"))));
    }

    @Test
    void anAssistantTurnThatOnlyCalledToolsIsAccepted() {
        Http.Response r = chat("""
                [{"role":"user","content":"weather?"},
                 {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
                   "function":{"name":"weather","arguments":"{}"}}]},
                 {"role":"tool","tool_call_id":"call_1","content":"sunny"},
                 {"role":"user","content":"thanks"}]""", "");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(engine.lastRequest.promptIds()).isEqualTo(model.encodeChat(List.of(new Message("user", "weather?"),
                new Message("assistant", ""), new Message("tool", "sunny"), new Message("user", "thanks"))));
        // Without tool_calls a null content is still a mistake, named.
        expectInvalid(chat("[{\"role\":\"assistant\",\"content\":null},{\"role\":\"user\",\"content\":\"x\"}]", ""),
                "messages[0].content");
    }

    @Test
    void oneModelCanBeLookedUpById() {
        Http.Response r = http.get("/v1/models/test-model");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("id").asText()).isEqualTo("test-model");
        assertThat(r.json().get("object").asText()).isEqualTo("model");
        Http.Response missing = http.get("/v1/models/gpt-4o");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().at("/error/code").asText()).isEqualTo("model_not_found");
        assertThat(missing.json().at("/error/message").asText()).contains("gpt-4o").contains("test-model");
    }

    @Test
    void theNotFoundMessageListsEveryRoute() {
        Http.Response r = http.get("/v1/nothing-here");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.json().at("/error/message").asText()).contains("POST /v1/chat/completions",
                "POST /v1/completions", "GET /v1/models", "GET /v1/models/<id>", "DELETE /v1/sessions/{id}",
                "GET /health", "GET /ready", "GET /metrics", "GET /admin/requests", "POST /admin/drain");
    }

    @Test
    void everyResponseCarriesARequestId() {
        List<Http.Response> responses = List.of(http.get("/health"), http.get("/v1/models"), http.get("/nowhere"),
                http.get("/v1/chat/completions"), chat("[{\"role\":\"user\",\"content\":\"hi\"}]", ""),
                chat("[]", ""));
        for (Http.Response r : responses) {
            assertThat(r.headers().firstValue("x-request-id")).as(r.status() + " " + r.body()).isPresent()
                    .get().asString().matches("req-[0-9a-f]{32}");
        }
        assertThat(responses.get(0).headers().firstValue("x-request-id"))
                .isNotEqualTo(responses.get(1).headers().firstValue("x-request-id"));
        // A caller's own plain id (a proxy's) carries through.
        Http.Response own = http.send(http.builder("/health").header("x-request-id", "trace-42").GET());
        assertThat(own.headers().firstValue("x-request-id")).contains("trace-42");
    }

    @Test
    void fieldsWeCannotHonourAreRefusedByName() {
        String hi = "[{\"role\":\"user\",\"content\":\"hi\"}]";
        expectInvalid(chat(hi, ",\"response_format\":{\"type\":\"banana\"}"), "response_format");
        expectInvalid(chat(hi, ",\"functions\":[{\"name\":\"f\"}]"), "functions"); // the deprecated form of tools
        expectInvalid(chat(hi, ",\"tool_choice\":\"required\""), "tool_choice"); // no tools to call
        expectInvalid(chat(hi, ",\"tool_choice\":\"auto\""), "tool_choice");
        expectInvalid(http.post("/v1/completions", "{\"prompt\":\"a\",\"tools\":[]}"), "tools");
        // A JSON object is honoured: the constraint goes to the engine with the request.
        assertThat(http.post("/v1/completions", "{\"prompt\":\"a\",\"response_format\":{\"type\":\"json_object\"}}")
                .status()).isEqualTo(200);
        assertThat(engine.lastRequest.constraint().kind()).isEqualTo(
                org.autoglm.models.structured.OutputConstraint.Kind.JSON_OBJECT);
        expectInvalid(http.post("/v1/completions", "{\"prompt\":\"a\",\"echo\":true}"), "echo");
        expectInvalid(http.post("/v1/completions", "{\"prompt\":\"a\",\"suffix\":\"b\"}"), "suffix");
        // Values that ask for nothing are fine.
        assertThat(chat(hi, ",\"response_format\":{\"type\":\"text\"},\"tools\":[],\"tool_choice\":\"none\"").status())
                .isEqualTo(200);
    }

    @Test
    void logitBiasReachesTheEngineAndIsChecked() {
        String hi = "[{\"role\":\"user\",\"content\":\"hi\"}]";
        assertThat(chat(hi, ",\"logit_bias\":{\"5\":-100,\"17\":2.5}").status()).isEqualTo(200);
        assertThat(engine.lastRequest.params().logitBias()).isEqualTo(Map.of(5, -100f, 17, 2.5f));
        assertThat(http.post("/v1/completions", "{\"prompt\":\"a\",\"logit_bias\":{\"9\":100}}").status()).isEqualTo(200);
        assertThat(engine.lastRequest.params().logitBias()).isEqualTo(Map.of(9, 100f));
        expectInvalid(chat(hi, ",\"logit_bias\":{\"5\":-101}"), "logit_bias");
        expectInvalid(chat(hi, ",\"logit_bias\":{\"1000\":1}"), "logit_bias"); // the vocabulary is 1000 tokens
        expectInvalid(chat(hi, ",\"logit_bias\":{\"the\":1}"), "logit_bias");
        expectInvalid(chat(hi, ",\"logit_bias\":{\"5\":\"high\"}"), "logit_bias");
        expectInvalid(chat(hi, ",\"logit_bias\":[5]"), "logit_bias");
    }

    @Test
    void defaultMaxTokensBoundsRequestsThatSetNone() {
        String hi = "[{\"role\":\"user\",\"content\":\"hi\"}]";
        chat(hi, "");
        assertThat(engine.lastRequest.params().maxTokens()).isEqualTo(7);
        chat(hi, ",\"max_tokens\":20");
        assertThat(engine.lastRequest.params().maxTokens()).isEqualTo(20);
    }

    private static Http.Response chat(String messages, String extra) {
        return http.post("/v1/chat/completions", "{\"model\":\"test-model\",\"messages\":" + messages + extra + "}");
    }

    private static void expectInvalid(Http.Response r, String param) {
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        JsonNode error = r.json().get("error");
        assertThat(error.get("param").asText()).isEqualTo(param);
        assertThat(error.get("message").asText()).contains(param.replaceAll("\\[.*", ""));
    }
}
