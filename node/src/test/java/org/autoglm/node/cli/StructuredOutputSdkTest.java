package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionAssistantMessageParam;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.chat.completions.StructuredChatCompletion;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Structured output and tool calls through the official OpenAI Java SDK, against {@code serve} on the random-weight
 * glm4-tiny checkpoint with GLM-4-0414's chat template (tool-call format glm4, picked by {@code auto}). Random
 * weights and random sampling: whatever the model draws, the grammar must make the output parse and validate.
 */
class StructuredOutputSdkTest {

    static final ObjectMapper JSON = new ObjectMapper();
    /** This node's one-node grid (communication on + 1000). */
    static final int GRID_PORT = 24480 + Integer.getInteger("autoglm.test.portOffset", 0);
    static final String WEATHER_SCHEMA = "{\"type\":\"object\",\"properties\":{"
            + "\"city\":{\"type\":\"string\",\"enum\":[\"Beijing\",\"Shanghai\",\"Paris\"]},"
            + "\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":7}},"
            + "\"required\":[\"city\",\"days\"],\"additionalProperties\":false}";
    static ServeCommand.RunningNode node;
    static OpenAIClient client;
    static String base;

    /** What {@code responseFormat(Class)} turns into a strict JSON schema. */
    public enum Sky { CLEAR, CLOUDY, RAIN }

    public static class Forecast {
        public Sky sky;
        public boolean windy;
    }

    @BeforeAll
    static void start() throws Exception {
        Path fixtures = ReferenceCases.fixturesDir();
        Path model = Files.createDirectories(Path.of("target", "glm4-tiny-tools-" + System.nanoTime()));
        try (Stream<Path> files = Files.list(fixtures.resolve("glm4-tiny"))) {
            for (Path f : files.toList()) Files.copy(f, model.resolve(f.getFileName()));
        }
        Files.copy(fixtures.resolve("templates/glm-4-0414.jinja"), model.resolve("chat_template.jinja"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        // the tiny tokenizer spends several tokens on each Chinese character of the template's tool prompt
        Path config = model.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"max_position_embeddings\": 512",
                "\"max_position_embeddings\": 4096"));
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", model.toString(), "--port", "0", "--num-kv-blocks", "512", "--block-size", "4",
                "--served-model-name", "glm4-tools", "--grid-port", String.valueOf(GRID_PORT),
                "--peers", "127.0.0.1:" + GRID_PORT);
        node = ((ServeCommand) cli.getCommand()).start();
        await().atMost(Duration.ofSeconds(120)).until(() -> node.state().isReady()
                || node.state().notReadyReason().startsWith("model failed"));
        assertThat(node.state().notReadyReason()).isNull();
        base = "http://127.0.0.1:" + node.port();
        client = OpenAIOkHttpClient.builder().baseUrl(base + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (node != null) node.close();
    }

    @Test
    void responseFormatClassAnswersParseIntoTheClass() {
        StructuredChatCompletion<Forecast> out = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("glm4-tools").addUserMessage("Forecast for tomorrow?").n(4).temperature(1.0).seed(11)
                .maxCompletionTokens(64).responseFormat(Forecast.class).build());
        assertThat(out.choices()).hasSize(4);
        for (var choice : out.choices()) {
            assertThat(choice.finishReason().asString()).isEqualTo("stop");
            Forecast f = choice.message().content().orElseThrow(); // the SDK parses and maps it
            assertThat(f.sky).isNotNull();
        }
    }

    @Test
    void requiredToolCallAlwaysParsesAndItsArgumentsValidate() throws Exception {
        ChatCompletion out = client.chat().completions().create(weatherRequest()
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).n(4).seed(5).build());
        JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(WEATHER_SCHEMA);
        JsonSchema timeSchema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema("{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}");
        for (var choice : out.choices()) {
            assertThat(choice.finishReason().asString()).as(choice.message().toString()).isEqualTo("tool_calls");
            List<ChatCompletionMessageToolCall> calls = choice.message().toolCalls().orElseThrow();
            assertThat(calls).hasSize(1);
            ChatCompletionMessageFunctionToolCall call = calls.get(0).asFunction();
            assertThat(call.id()).startsWith("call_");
            assertThat(call.function().name()).isIn("get_weather", "get_time");
            JsonNode arguments = JSON.readTree(call.function().arguments());
            JsonSchema expected = call.function().name().equals("get_weather") ? schema : timeSchema;
            assertThat(expected.validate(arguments)).as(call.function().arguments()).isEmpty();
        }
    }

    @Test
    void namedToolChoiceCallsThatFunction() {
        ChatCompletion out = client.chat().completions().create(weatherRequest().n(2).seed(9)
                .toolChoice(ChatCompletionNamedToolChoice.builder()
                        .function(ChatCompletionNamedToolChoice.Function.builder().name("get_time").build()).build())
                .build());
        for (var choice : out.choices()) {
            assertThat(choice.finishReason().asString()).as(choice.message().toString()).isEqualTo("tool_calls");
            assertThat(choice.message().toolCalls().orElseThrow().get(0).asFunction().function().name()).isEqualTo("get_time");
        }
    }

    @Test
    void autoToolChoiceAnswersTextOrACompleteCall() throws Exception {
        ChatCompletion out = client.chat().completions().create(weatherRequest().n(6).seed(3).build());
        JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(WEATHER_SCHEMA);
        for (var choice : out.choices()) {
            if (choice.message().toolCalls().isPresent() && !choice.message().toolCalls().get().isEmpty()) {
                var call = choice.message().toolCalls().get().get(0).asFunction().function();
                assertThat(choice.finishReason().asString()).isIn("tool_calls", "length");
                if (call.name().equals("get_weather") && choice.finishReason().asString().equals("tool_calls")) {
                    assertThat(schema.validate(JSON.readTree(call.arguments()))).isEmpty();
                }
            } else {
                assertThat(choice.message().content()).isPresent();
            }
        }
    }

    @Test
    void streamedToolCallDeltasRebuildTheSameCall() {
        ChatCompletionCreateParams params = weatherRequest().toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                .seed(21).build();
        var whole = client.chat().completions().create(params).choices().get(0).message().toolCalls().orElseThrow()
                .get(0).asFunction().function();
        List<ChatCompletionChunk.Choice.Delta.ToolCall> deltas = new ArrayList<>();
        String finish = null;
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) s.stream()::iterator) {
                for (var c : chunk.choices()) {
                    c.delta().toolCalls().ifPresent(deltas::addAll);
                    if (c.finishReason().isPresent()) finish = c.finishReason().get().asString();
                }
            }
        }
        assertThat(finish).isEqualTo("tool_calls");
        assertThat(deltas).isNotEmpty();
        var first = deltas.get(0);
        assertThat(first.index()).isZero();
        assertThat(first.id().orElseThrow()).startsWith("call_");
        assertThat(first.function().orElseThrow().name()).contains(whole.name());
        StringBuilder arguments = new StringBuilder();
        for (var d : deltas.subList(1, deltas.size())) {
            assertThat(d.index()).isZero();
            assertThat(d.id()).isEmpty();
            arguments.append(d.function().orElseThrow().arguments().orElse(""));
        }
        assertThat(arguments.toString()).isEqualTo(whole.arguments()); // same seed, same tokens
    }

    @Test
    void toolCallsAndResultsInTheHistoryGoThroughTheTemplate() {
        ChatCompletionCreateParams.Builder b = weatherRequest().toolChoice(ChatCompletionToolChoiceOption.Auto.NONE);
        ChatCompletion plain = client.chat().completions().create(b.build());
        ChatCompletion withHistory = client.chat().completions().create(b
                .addMessage(ChatCompletionAssistantMessageParam.builder().addToolCall(
                        ChatCompletionMessageFunctionToolCall.builder().id("call_1")
                                .function(ChatCompletionMessageFunctionToolCall.Function.builder().name("get_weather")
                                        .arguments("{\"city\":\"Paris\",\"days\":1}").build()).build()).build())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId("call_1").content("sunny").build())
                .build());
        assertThat(plain.choices().get(0).message().toolCalls().orElse(List.of())).isEmpty();
        // the call and the result are rendered as the template's assistant-with-metadata and observation turns
        assertThat(withHistory.usage().orElseThrow().promptTokens())
                .isGreaterThan(plain.usage().orElseThrow().promptTokens() + 8);
    }

    /**
     * Tools in a session: the assistant turn keeps its calls with the ids the client saw, the tool result answers one
     * of them in the next turn, and both reach the template (the second prompt holds the first turn rendered).
     */
    @Test
    void toolCallsWorkInASession() throws Exception {
        String session = post("/v1/sessions", "{}").get("id").asText();
        ChatCompletion first = client.chat().completions().create(weatherRequest()
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).seed(3)
                .putAdditionalBodyProperty("session_id", JsonValue.from(session)).build());
        assertThat(first.choices().get(0).finishReason().asString()).isEqualTo("tool_calls");
        ChatCompletionMessageFunctionToolCall call = first.choices().get(0).message().toolCalls().orElseThrow().get(0)
                .asFunction();
        JsonNode history = get("/v1/sessions/" + session).get("messages");
        assertThat(history).hasSize(2);
        assertThat(history.at("/1/tool_calls/0/id").asText()).isEqualTo(call.id());
        assertThat(history.at("/1/tool_calls/0/function/name").asText()).isEqualTo(call.function().name());
        assertThat(history.at("/1/tool_calls/0/function/arguments").asText()).isEqualTo(call.function().arguments());

        JsonNode second = post("/v1/chat/completions", "{\"model\":\"glm4-tools\",\"session_id\":\"" + session
                + "\",\"max_tokens\":4,\"tools\":[" + weatherToolJson() + "],\"tool_choice\":\"none\","
                + "\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"" + call.id() + "\",\"content\":\"sunny\"}]}");
        JsonNode userAlone = post("/v1/chat/completions", "{\"model\":\"glm4-tools\",\"max_tokens\":4,\"tools\":["
                + weatherToolJson() + "],\"tool_choice\":\"none\",\"messages\":[{\"role\":\"user\",\"content\":"
                + "\"Weather in Paris?\"}]}");
        // the session's user turn and the call, rendered by the template, came before the result
        assertThat(second.at("/usage/prompt_tokens").asLong()).isGreaterThan(userAlone.at("/usage/prompt_tokens")
                .asLong() + call.function().arguments().length() / 4);
        history = get("/v1/sessions/" + session).get("messages");
        assertThat(history.at("/2/role").asText()).isEqualTo("tool");
        assertThat(history.at("/2/tool_call_id").asText()).isEqualTo(call.id());
    }

    @Test
    void vllmStructuredOutputsChoiceAndRegex() throws Exception {
        JsonNode choice = post("/v1/chat/completions", "{\"model\":\"glm4-tools\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"yes or no?\"}],\"n\":3,\"seed\":1,\"max_tokens\":16,"
                + "\"structured_outputs\":{\"choice\":[\"yes\",\"no\",\"maybe not\"]}}");
        for (JsonNode c : choice.get("choices")) {
            assertThat(c.at("/message/content").asText()).isIn("yes", "no", "maybe not");
        }
        JsonNode regex = post("/v1/completions", "{\"model\":\"glm4-tools\",\"prompt\":\"code:\",\"n\":3,\"seed\":2,"
                + "\"max_tokens\":32,\"structured_outputs\":{\"regex\":\"[0-9]{3}-[a-z]{2}\"}}");
        for (JsonNode c : regex.get("choices")) {
            assertThat(c.get("text").asText()).matches("[0-9]{3}-[a-z]{2}");
        }
        JsonNode object = post("/v1/completions", "{\"model\":\"glm4-tools\",\"prompt\":\"{\",\"seed\":4,"
                + "\"max_tokens\":48,\"temperature\":0,\"response_format\":{\"type\":\"json_object\"}}");
        if (object.at("/choices/0/finish_reason").asText().equals("stop")) {
            assertThat(JSON.readTree(object.at("/choices/0/text").asText()).isObject()).isTrue();
        }
    }

    @Test
    void badConstraintsAre400sThatSayWhatAndWhere() throws Exception {
        HttpResponse<String> r = postRaw("/v1/chat/completions", "{\"model\":\"glm4-tools\",\"messages\":[{\"role\":"
                + "\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":"
                + "\"s\",\"schema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\","
                + "\"propertyNames\":{\"maxLength\":3}}}}}}}");
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("message").asText()).contains("propertyNames").contains("/properties/a");
        assertThat(error.get("param").asText()).isEqualTo("response_format");

        HttpResponse<String> choice = postRaw("/v1/chat/completions", "{\"model\":\"glm4-tools\",\"messages\":[{\"role\":"
                + "\"user\",\"content\":\"x\"}],\"tools\":[" + weatherToolJson() + "],\"tool_choice\":{\"type\":"
                + "\"function\",\"function\":{\"name\":\"nope\"}}}");
        assertThat(choice.statusCode()).isEqualTo(400);
        assertThat(choice.body()).contains("nope");
    }

    private static ChatCompletionCreateParams.Builder weatherRequest() {
        Map<String, JsonValue> weather = new LinkedHashMap<>();
        JsonNode schema;
        try {
            schema = JSON.readTree(WEATHER_SCHEMA);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        schema.fields().forEachRemaining(f -> weather.put(f.getKey(), JsonValue.fromJsonNode(f.getValue())));
        return ChatCompletionCreateParams.builder().model("glm4-tools").addUserMessage("Weather in Paris?")
                .temperature(1.0).maxCompletionTokens(64)
                .addFunctionTool(FunctionDefinition.builder().name("get_weather").description("Weather forecast")
                        .parameters(FunctionParameters.builder().additionalProperties(weather).build()).build())
                .addFunctionTool(FunctionDefinition.builder().name("get_time").description("The time now")
                        .parameters(FunctionParameters.builder().putAdditionalProperty("type", JsonValue.from("object"))
                                .putAdditionalProperty("properties", JsonValue.from(Map.of()))
                                .putAdditionalProperty("additionalProperties", JsonValue.from(false)).build()).build());
    }

    private static String weatherToolJson() {
        return "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":" + WEATHER_SCHEMA + "}}";
    }

    private static JsonNode post(String path, String body) throws Exception {
        HttpResponse<String> r = postRaw(path, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static JsonNode get(String path) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + path)).GET()
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static HttpResponse<String> postRaw(String path, String body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + path))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

}
