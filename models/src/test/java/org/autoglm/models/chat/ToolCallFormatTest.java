package org.autoglm.models.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import org.autoglm.models.tokenizer.ReferenceFixtures;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ToolCallFormatTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ToolDefinition WEATHER = new ToolDefinition("get_weather",
            "{\"name\":\"get_weather\",\"description\":\"Weather of a city\",\"parameters\":{\"type\":\"object\","
                    + "\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"}},\"required\":[\"city\"]}}",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"}},"
                    + "\"required\":[\"city\"]}");
    private static final ToolDefinition TIME = new ToolDefinition("get_time", "{\"name\":\"get_time\"}",
            "{\"type\":\"object\",\"properties\":{}}");
    private static final List<ToolDefinition> TOOLS = List.of(WEATHER, TIME);

    @Test
    void glm4ReadsANameLineThenJsonArguments() throws IOException {
        ToolCallFormat f = ToolCallFormat.select("glm4", null);
        ToolCallFormat.ParsedOutput call = f.parse("get_weather\n{\"city\": \"Beijing\", \"days\": 2}", TOOLS);
        assertEquals(1, call.calls().size());
        assertEquals("get_weather", call.calls().get(0).name());
        assertEquals(JSON.readTree("{\"city\":\"Beijing\",\"days\":2}"), JSON.readTree(call.calls().get(0).arguments()));
        assertTrue(call.calls().get(0).id().startsWith("call_"));
        assertEquals("", call.content());

        assertEquals(List.of(), f.parse("\nThe weather is fine.", TOOLS).calls());
        assertEquals("\nThe weather is fine.", f.parse("\nThe weather is fine.", TOOLS).content());
        assertEquals(List.of(), f.parse("get_weather\nnot json", TOOLS).calls(), "unparsable arguments stay text");
        assertEquals(List.of(), f.parse("unknown_tool\n{}", TOOLS).calls());
    }

    @Test
    void glm4StreamsTheSameAsItParses() {
        String output = "get_weather\n{\"city\": \"Beijing\"}";
        Collected c = collect(ToolCallFormat.select("glm4", null).stream(TOOLS), output);
        assertEquals("", c.content.toString(), "the name line is held back, never sent as text");
        assertEquals(List.of("get_weather"), c.names);
        assertEquals("{\"city\": \"Beijing\"}", c.arguments.get(0).toString());

        Collected text = collect(ToolCallFormat.select("glm4", null).stream(TOOLS), "get the weather yourself");
        assertEquals("get the weather yourself", text.content.toString());
        assertEquals(List.of(), text.names);
    }

    @Test
    void glm45ReadsXmlArgumentsAsJsonTypedBySchema() throws IOException {
        String output = "Let me check.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Bei <b> jing"
                + "</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>\n<tool_call>get_time\n"
                + "</tool_call>";
        ToolCallFormat f = ToolCallFormat.select("glm45", null);
        ToolCallFormat.ParsedOutput parsed = f.parse(output, TOOLS);
        assertEquals("Let me check.\n", parsed.content());
        assertEquals(2, parsed.calls().size());
        assertEquals(JSON.readTree("{\"city\":\"Bei <b> jing\",\"days\":3}"),
                JSON.readTree(parsed.calls().get(0).arguments()));
        assertEquals("get_time", parsed.calls().get(1).name());
        assertEquals("{}", parsed.calls().get(1).arguments());

        Collected c = collect(f.stream(TOOLS), output);
        assertEquals("Let me check.\n", c.content.toString(), "no piece of <tool_call> leaks into the text");
        assertEquals(List.of("get_weather", "get_time"), c.names);
        assertEquals(parsed.calls().get(0).arguments(), c.arguments.get(0).toString());
    }

    @Test
    void glm40414TemplateRendersToolsCallsAndResults() throws IOException {
        ChatTemplate template = ChatTemplate.of(resource("glm-4-0414.jinja"));
        ToolCallFormat format = ToolCallFormat.select("auto", template);
        assertEquals("glm4", format.name());
        List<ChatMessage> conversation = List.of(
                ChatMessage.user("Weather in Beijing?"),
                new ChatMessage("assistant", "", List.of(new ToolCall("call_1", "get_weather", "{\"city\":\"Beijing\"}")), null),
                new ChatMessage("tool", "sunny, 25C", List.of(), "call_1"));
        String prompt = template.render(conversation, true, TOOLS, format);
        // transformers renders with trim_blocks: the first line break after each block tag goes
        assertTrue(prompt.startsWith("[gMASK]<sop><|system|>\n# 可用工具\n## get_weather\n\n{\n    \"name\": \"get_weather\""), prompt);
        assertTrue(prompt.contains("在调用上述函数时，请使用 Json 格式表示调用的参数。"), prompt);
        assertTrue(prompt.contains("<|user|>\nWeather in Beijing?<|assistant|>get_weather\n{\"city\":\"Beijing\"}"
                + "<|observation|>\nsunny, 25C<|assistant|>"), prompt);
        assertTrue(prompt.endsWith("<|assistant|>"), prompt);
    }

    @Test
    void glm45TemplateIsDetectedAndGetsArgumentsAsAMapping() throws IOException {
        ChatTemplate template = ChatTemplate.of(resource("glm-4.5.jinja"));
        ToolCallFormat format = ToolCallFormat.select("auto", template);
        assertEquals("glm45", format.name());
        String prompt = template.render(List.of(ChatMessage.user("Weather?"),
                new ChatMessage("assistant", "", List.of(new ToolCall("c", "get_weather", "{\"city\":\"Beijing\",\"days\":2}")), null),
                new ChatMessage("tool", "sunny", List.of(), "c")), true, TOOLS, format);
        assertTrue(prompt.contains("<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>"), prompt);
        assertTrue(prompt.contains("<arg_value>2</arg_value>"), prompt);
        assertTrue(prompt.contains("<|observation|>\n<tool_response>\nsunny\n</tool_response>"), prompt);
    }

    @Test
    void unknownParserNameIsRefusedWithTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ToolCallFormat.select("hermes", null));
        assertTrue(e.getMessage().contains("glm4, glm45 or auto"), e.getMessage());
    }

    private static final class Collected {
        final StringBuilder content = new StringBuilder();
        final List<String> names = new ArrayList<>();
        final List<StringBuilder> arguments = new ArrayList<>();
    }

    /** Feeds the output one character at a time, as a stream of single-character tokens would. */
    private static Collected collect(ToolCallStream stream, String output) {
        List<ToolCallEvent> events = new ArrayList<>();
        output.codePoints().forEach(cp -> events.addAll(stream.push(new String(Character.toChars(cp)))));
        events.addAll(stream.finish());
        Collected c = new Collected();
        for (ToolCallEvent e : events) {
            if (e instanceof ToolCallEvent.Content t) {
                c.content.append(t.text());
            } else if (e instanceof ToolCallEvent.CallStart s) {
                assertEquals(c.names.size(), s.index());
                c.names.add(s.name());
                c.arguments.add(new StringBuilder());
            } else {
                ToolCallEvent.CallArguments a = assertInstanceOf(ToolCallEvent.CallArguments.class, e);
                c.arguments.get(a.index()).append(a.chunk());
            }
        }
        return c;
    }

    /** {@code fixtures/templates/}: GLM-4-0414's template, and one modelled on GLM-4.5's (see the README there). */
    private static String resource(String name) throws IOException {
        return Files.readString(ReferenceFixtures.root().resolve("templates").resolve(name), StandardCharsets.UTF_8);
    }
}
