package org.autoglm.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.autoglm.models.chat.ToolCallFormat;
import org.autoglm.models.chat.ToolDefinition;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.structured.OutputConstraint;
import org.autoglm.node.engine.GenerationRequest;
import org.junit.jupiter.api.Test;

/** A request's output constraint crosses the grid with it, so the node that runs it rebuilds the same grammar. */
class WireFormatConstraintTest {

    @Test
    void theConstraintTravelsWithTheQueuedRequest() {
        ToolDefinition tool = new ToolDefinition("get_weather", "{\"name\":\"get_weather\"}",
                "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}");
        for (OutputConstraint c : List.of(
                OutputConstraint.of(OutputConstraint.Kind.JSON_SCHEMA, "{\"type\":\"integer\"}"),
                OutputConstraint.of(OutputConstraint.Kind.CHOICE, "[\"yes\",\"no\"]"),
                OutputConstraint.tools(ToolCallFormat.select("glm45", null), List.of(tool), true, true))) {
            GenerationRequest sent = GenerationRequest.of("r1", new int[] {1, 2, 3}, SamplingParams.greedy(8))
                    .withConstraint(c);
            GenerationRequest received = WireFormat.request(WireFormat.request(sent));
            assertThat(received.constraint()).isEqualTo(c);
            assertThat(received.constraint().grammar()).isEqualTo(c.grammar()); // the same grammar on the other node
        }
        assertThat(WireFormat.request(WireFormat.request(GenerationRequest.of("r2", new int[] {1}, SamplingParams.greedy(1))))
                .constraint()).isNull();
    }
}
