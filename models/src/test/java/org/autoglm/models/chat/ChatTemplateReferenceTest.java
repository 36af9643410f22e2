package org.autoglm.models.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Real GLM chat templates (GLM-4-9B-chat's from its tokenizer_config.json, GLM-4.5's) and a template of the
 * jinja2 features HF templates use, rendered here and by Python jinja2 configured as transformers does it
 * ({@code src/test/resources/chat/render_reference.py} wrote {@code expected.json}): the text must be identical.
 */
class ChatTemplateReferenceTest {

    record Case(String name, String template, List<Map<String, Object>> messages, boolean add_generation_prompt,
                Map<String, Object> variables, String expected, String error) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() throws IOException {
        try (InputStream in = resource("expected.json")) {
            return new ObjectMapper().readValue(in, new TypeReference<List<Case>>() {}).stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rendersLikeTransformersJinja2(Case c) throws IOException {
        ChatTemplate template;
        try (InputStream in = resource(c.template())) {
            template = ChatTemplate.of(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        if (c.error() != null) {
            assertThatThrownBy(() -> template.render(c.messages(), c.add_generation_prompt(), c.variables()))
                    .isInstanceOf(ChatTemplateException.class)
                    .hasMessageContaining(c.error());
        } else {
            assertThat(template.render(c.messages(), c.add_generation_prompt(), c.variables())).isEqualTo(c.expected());
        }
    }

    private static InputStream resource(String name) {
        InputStream in = ChatTemplateReferenceTest.class.getResourceAsStream("/chat/" + name);
        if (in == null) {
            throw new IllegalStateException("missing test resource chat/" + name);
        }
        return in;
    }
}
