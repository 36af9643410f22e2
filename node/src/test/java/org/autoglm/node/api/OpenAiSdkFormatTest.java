package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The official OpenAI Java SDK parses every response shape (strictly validated) and error of the HTTP layer.
 * Generation itself is exercised against the real engine in {@code OpenAiClientTest}.
 */
class OpenAiSdkFormatTest {

    static ScriptedServer api;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        api = ScriptedServer.start(new CharModel("m", 512), c -> c.sseKeepAlive = java.time.Duration.ofMillis(20));
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + api.port() + "/v1").apiKey("unused")
                .responseValidation(true).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        api.close();
    }

    @Test
    void chatResponsesAndChunksValidate() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("m").addUserMessage("hi")
                .n(2).logprobs(true).topLogprobs(1).build();
        ChatCompletion c = client.chat().completions().create(params);
        assertThat(c.choices()).hasSize(2);
        assertThat(c.choices().get(1).message().content()).contains("Hello world!");
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(6);
        assertThat(c.choices().get(0).logprobs().orElseThrow().content().orElseThrow()).hasSize(3);

        ChatCompletionCreateParams streamed = params.toBuilder().n(1)
                .streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .build();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(streamed)) {
            List<ChatCompletionChunk> chunks = s.stream().toList();
            String text = chunks.stream().flatMap(k -> k.choices().stream())
                    .map(ch -> ch.delta().content().orElse("")).collect(Collectors.joining());
            assertThat(text).isEqualTo("Hello world!");
            assertThat(chunks.get(chunks.size() - 1).usage().orElseThrow().totalTokens()).isPositive();
        }
    }

    @Test
    void keepAliveCommentsAreInvisibleToTheSdk() {
        api.engine.firstTokenDelayMillis = 200; // ten keep-alives before the first token
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
                ChatCompletionCreateParams.builder().model("m").addUserMessage("hi").build())) {
            assertThat(s.stream().flatMap(k -> k.choices().stream()).map(ch -> ch.delta().content().orElse(""))
                    .collect(Collectors.joining())).isEqualTo("Hello world!");
        } finally {
            api.engine.firstTokenDelayMillis = 0;
        }
    }

    @Test
    void completionResponsesValidate() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model("m").prompt("ab").maxTokens(2).build());
        assertThat(c.choices().get(0).text()).isEqualTo("Hello world");
        assertThat(c.choices().get(0).finishReason()).isEqualTo(com.openai.models.completions.CompletionChoice.FinishReason.LENGTH);
        // The SDK models completion chunks with the non-streaming class, whose finish_reason is required:
        // strict validation would refuse OpenAI's own chunks too, so the stream is read unvalidated.
        try (StreamResponse<Completion> s = client.withOptions(o -> o.responseValidation(false)).completions().createStreaming(
                CompletionCreateParams.builder().model("m").prompt("ab").build())) {
            assertThat(s.stream().map(k -> k.choices().get(0).text()).collect(Collectors.joining())).isEqualTo("Hello world!");
        }
    }

    @Test
    void errorsArriveAsTypedSdkExceptions() {
        try {
            client.chat().completions().create(ChatCompletionCreateParams.builder().model("m").addUserMessage("hi")
                    .temperature(9.0).build());
            throw new AssertionError("expected 400");
        } catch (BadRequestException e) {
            assertThat(e.statusCode()).isEqualTo(400);
            assertThat(e.getMessage()).contains("temperature");
        }
        try {
            client.chat().completions().create(ChatCompletionCreateParams.builder().model("gpt-4o").addUserMessage("hi").build());
            throw new AssertionError("expected 404");
        } catch (NotFoundException e) {
            assertThat(e.statusCode()).isEqualTo(404);
        }
    }
}
