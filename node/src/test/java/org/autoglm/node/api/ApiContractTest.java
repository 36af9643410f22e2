package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.telemetry.Telemetry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Details of the HTTP contract a reviewer checks by hand with curl: a known route called with the wrong method,
 * and the request fields of the cluster issue ({@code required_tags}) reaching the engine request.
 */
class ApiContractTest {

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
    void aKnownRouteWithTheWrongMethodIs405NotAMissingRoute() {
        for (String path : List.of("/v1/chat/completions", "/v1/completions")) {
            Http.Response r = http.get(path);
            assertThat(r.status()).as(path).isEqualTo(405);
            JsonNode error = r.json().get("error");
            assertThat(error.get("code").asText()).isEqualTo("method_not_allowed");
            assertThat(error.has("type") && error.has("param") && error.has("message")).isTrue();
        }
        assertThat(http.get("/v1/nothing-here").status()).isEqualTo(404);
    }

    @Test
    void anOverloadRefusalSaysRetryOnceWithRetryAfter() {
        engine.rejectNext(new RequestRejectedException(RequestRejectedException.Kind.OVERLOADED,
                "1 requests are already waiting on this node; retry later"));
        Http.Response r = http.post("/v1/completions", "{\"prompt\":\"ab\",\"max_tokens\":2}");
        assertThat(r.status()).isEqualTo(429);
        assertThat(r.headers().firstValue("Retry-After")).contains("1");
        assertThat(r.json().at("/error/message").asText()).isEqualTo("1 requests are already waiting on this node; retry later");
    }

    @Test
    void requiredTagsReachTheEngineRequest() {
        Http.Response r = http.post("/v1/completions", """
                {"prompt":"ab","max_tokens":2,"required_tags":["h100","eu-west"]}""");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(engine.lastRequest.requiredTags()).containsExactly("h100", "eu-west");

        Http.Response chat = http.post("/v1/chat/completions", """
                {"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"required_tags":"h100"}""");
        assertThat(chat.status()).as(chat.body()).isEqualTo(200);
        assertThat(engine.lastRequest.requiredTags()).containsExactly("h100");

        Http.Response bad = http.post("/v1/completions", """
                {"prompt":"ab","required_tags":[1]}""");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().at("/error/param").asText()).isEqualTo("required_tags");
    }
}
