package org.autoglm.models.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.autoglm.models.ModelLoadException;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.autoglm.models.tokenizer.ReferenceFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChatTemplateTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny", "glm4-tiny"})
    void fixtureConversationsRenderAndTokenizeExactlyAsTheReference(String checkpoint) {
        Path dir = ReferenceFixtures.checkpoint(checkpoint);
        ChatTemplate template = ChatTemplate.load(dir);
        JsonNode reference = ReferenceFixtures.reference(checkpoint);
        List<JsonNode> chatCases = ReferenceFixtures.cases(checkpoint).stream()
                .filter(c -> "chat".equals(c.get("kind").asText())).toList();
        assertThat(chatCases).hasSize(reference.get("chat_messages").size());
        try (GlmTokenizer tokenizer = GlmTokenizer.load(dir)) {
            for (int i = 0; i < chatCases.size(); i++) {
                String text = template.render(messages(reference.get("chat_messages").get(i)), true);
                assertThat(text).isEqualTo(chatCases.get(i).get("text").asText());
                assertThat(tokenizer.encode(text)).containsExactly(ReferenceFixtures.ints(chatCases.get(i).get("input_ids")));
            }
        }
    }

    @Test
    void theGenerationPromptOpensTheAssistantTurn() {
        ChatTemplate template = ChatTemplate.load(ReferenceFixtures.checkpoint("glm4-tiny"));
        List<ChatMessage> chat = List.of(ChatMessage.user("hi"));
        assertThat(template.render(chat, true)).isEqualTo("[gMASK]<sop><|user|>\nhi<|assistant|>\n");
        assertThat(template.render(chat, false)).isEqualTo("[gMASK]<sop><|user|>\nhi");
    }

    @Test
    void aTemplateInTokenizerConfigIsFoundAsStringOrAsTheDefaultOfNamedTemplates(@TempDir Path dir) throws Exception {
        String source = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{{ eos_token }}";
        ObjectNode config = JSON.createObjectNode().put("eos_token", "<|endoftext|>").put("chat_template", source);
        Files.writeString(dir.resolve("tokenizer_config.json"), config.toString());
        List<ChatMessage> chat = List.of(ChatMessage.system("s"), ChatMessage.user("u"));
        assertThat(ChatTemplate.load(dir).render(chat, false)).isEqualTo("<system>s<user>u<|endoftext|>");

        config.putArray("chat_template")
                .add(JSON.createObjectNode().put("name", "tool_use").put("template", "wrong"))
                .add(JSON.createObjectNode().put("name", "default").put("template", source));
        Files.writeString(dir.resolve("tokenizer_config.json"), config.toString());
        assertThat(ChatTemplate.load(dir).render(chat, false)).isEqualTo("<system>s<user>u<|endoftext|>");

        // chat_template.jinja wins over the field, and its single trailing newline is dropped (as jinja2 does)
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ messages[0].content }}!\n");
        assertThat(ChatTemplate.load(dir).render(chat, false)).isEqualTo("s!");
    }

    @Test
    void aCheckpointWithoutTemplateNamesBothPlaces(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> ChatTemplate.load(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("chat_template.jinja")
                .hasMessageContaining("\"chat_template\" field in tokenizer_config.json");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": [{\"name\": \"rag\", \"template\": \"x\"}]}");
        assertThatThrownBy(() -> ChatTemplate.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("default");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": ");
        assertThatThrownBy(() -> ChatTemplate.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tokenizer_config.json");
    }

    @Test
    void unknownFiltersAndTestsAreRefusedInsteadOfRenderingAsNothing(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ messages | frobnicate }}");
        assertThatThrownBy(() -> ChatTemplate.load(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("frobnicate")
                .hasMessageContaining("chat_template.jinja");
        assertThatThrownBy(() -> ChatTemplate.of("{% if x is frobnicated %}{% endif %}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("frobnicated");
        // a '|' inside a string literal or comment is not a filter
        ChatTemplate literal = ChatTemplate.of("{# a | comment #}{{ '<|' + messages[0].role + '|>' }}{{ \"a|b\" }}");
        assertThat(literal.render(List.of(ChatMessage.user("x")), false)).isEqualTo("<|user|>a|b");
    }

    @Test
    void messageContentIsDataNeverTemplateCode() {
        ChatTemplate template = ChatTemplate.load(ReferenceFixtures.checkpoint("glm4-tiny"));
        String hostile = "{{ 7 * 7 }}{% for i in range(3) %}x{% endfor %}{{ raise_exception('pwned') }}";
        assertThat(template.render(List.of(ChatMessage.user(hostile)), false))
                .isEqualTo("[gMASK]<sop><|user|>\n" + hostile);
    }

    @Test
    void raiseExceptionBecomesAChatTemplateException() {
        ChatTemplate template = ChatTemplate.of(
                "{% if messages[0].role != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}ok");
        assertThat(template.render(List.of(ChatMessage.user("x")), false)).isEqualTo("ok");
        assertThatThrownBy(() -> template.render(List.of(ChatMessage.assistant("x")), false))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("the chat template rejected the conversation: first message must be from the user");
    }

    @Test
    void theRealGlm4ChatTemplateRendersFromTokenizerConfig(@TempDir Path dir) throws Exception {
        String source;
        try (var in = ChatTemplateTest.class.getResourceAsStream("/chat/glm-4-9b-chat.jinja")) {
            source = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        // as shipped by THUDM/glm-4-9b-chat: in tokenizer_config.json, next to the special tokens
        ObjectNode config = JSON.createObjectNode().put("eos_token", "<|endoftext|>").put("chat_template", source);
        Files.writeString(dir.resolve("tokenizer_config.json"), config.toString());
        String text = ChatTemplate.load(dir).render(List.of(ChatMessage.user("你好")), true);
        assertThat(text).isEqualTo("[gMASK]<sop><|user|>\n你好<|assistant|>");
    }

    private static List<Map<String, Object>> plain(JsonNode messages) {
        List<Map<String, Object>> out = new ArrayList<>();
        messages.forEach(m -> out.add(JSON.convertValue(m, Map.class)));
        return out;
    }

    private static List<ChatMessage> messages(JsonNode messages) {
        return plain(messages).stream()
                .map(m -> new ChatMessage((String) m.get("role"), (String) m.get("content"))).toList();
    }
}
