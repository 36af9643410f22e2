package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.autoglm.node.plugins.Plugins;
import org.autoglm.node.telemetry.Telemetry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The built-in plugins loaded by name through ServiceLoader, seen through HTTP. */
class PluginsHttpTest {

    @TempDir
    static Path dir;

    static final ScriptedEngine engine = new ScriptedEngine();
    static Telemetry telemetry;
    static ApiServer masking;
    static ApiServer rejecting;

    @BeforeAll
    static void start() throws Exception {
        Path words = Files.writeString(dir.resolve("words.txt"), "# blocked\n敏感词\nsecret\n", StandardCharsets.UTF_8);
        telemetry = new Telemetry("m", () -> org.autoglm.node.telemetry.EngineLoad.EMPTY, null, null);
        masking = server(Plugins.load(List.of("audit-log", "sensitive-words"), Map.of(
                "audit-log", Map.of("file", dir.resolve("audit.jsonl").toString(), "prompts", "true"),
                "sensitive-words", Map.of("file", words.toString(), "policy", "mask"))));
        rejecting = server(Plugins.load(List.of("sensitive-words"), Map.of(
                "sensitive-words", Map.of("file", words.toString()))));
    }

    static ApiServer server(Plugins plugins) {
        ServingState state = new ServingState();
        ApiServer s = ApiServer.create(c -> {
            c.port = 0;
            c.plugins = plugins;
            c.state = state;
            c.telemetry = telemetry;
        }).start();
        state.ready(new ServingState.Loaded(new CharModel("m", 512), engine, engine));
        return s;
    }

    @AfterAll
    static void stop() {
        masking.close();
        rejecting.close();
        telemetry.close();
        engine.shutdown();
    }

    @Test
    void maskPolicyMasksWordsSplitAcrossStreamedChunks() {
        engine.script = r -> List.of("这是敏", "感词", "吗? a sec", "ret!");
        Http.Response r = new Http(masking.port()).post("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"tell me\"}],\"stream\":true}");
        List<String> pieces = r.events().stream().filter(e -> !e.equals("[DONE]")).map(ApiServerTest::json)
                .map(j -> j.at("/choices/0/delta/content").asText("")).toList();
        assertThat(String.join("", pieces)).isEqualTo("这是***吗? a ******!");
        assertThat(pieces).noneMatch(p -> p.contains("敏") || p.contains("感") || p.contains("sec"));
    }

    @Test
    void maskPolicyMasksTheInputBeforeTokenizing() throws Exception {
        engine.script = r -> List.of("ok");
        new Http(masking.port()).post("/v1/completions", "{\"prompt\":\"my secret\"}");
        assertThat(engine.lastRequest.promptIds()).isEqualTo(new CharModel("m", 512).encode("my ******"));
        // The audit line (prompts enabled) holds the masked text.
        String audit = Files.readString(dir.resolve("audit.jsonl"));
        assertThat(audit).contains("my ******").doesNotContain("my secret");
    }

    @Test
    void rejectPolicyRefusesInputWithContentFiltered() {
        Http.Response r = new Http(rejecting.port()).post("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"说一个敏感词\"}]}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().at("/error/code").asText()).isEqualTo("content_filtered");
    }

    @Test
    void rejectPolicyStopsOutputWithContentFilterFinish() {
        engine.script = r -> List.of("the sec", "ret is", " out", " there");
        int before = engine.cancelled();
        JsonNode j = new Http(rejecting.port()).post("/v1/completions", "{\"prompt\":\"tell\"}").json();
        assertThat(j.at("/choices/0/finish_reason").asText()).isEqualTo("content_filter");
        assertThat(j.at("/choices/0/text").asText()).isEqualTo("the ");
        assertThat(engine.cancelled()).isGreaterThanOrEqualTo(before); // the engine request was stopped (or had ended)

        engine.script = r -> List.of("the sec", "ret");
        Http.Response s = new Http(rejecting.port()).post("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":true}");
        String streamed = s.events().stream().filter(e -> !e.equals("[DONE]")).map(ApiServerTest::json)
                .map(n -> n.at("/choices/0/delta/content").asText("")).collect(Collectors.joining());
        assertThat(streamed).isEqualTo("the ");
        assertThat(s.body()).contains("\"finish_reason\":\"content_filter\"");
    }
}
