package org.autoglm.node.api;

import java.util.List;
import org.autoglm.models.chat.ToolDefinition;
import org.autoglm.models.structured.OutputConstraint;

/**
 * What a request asked of its output's shape: a constraint for the engine, and the tools for the prompt and the
 * answer.
 *
 * @param constraint     the grammar's source for the engine, or null for free text
 * @param tools          the functions shown to the model (also with {@code tool_choice: "none"}), possibly empty
 * @param parseToolCalls whether the answer is searched for calls ({@code message.tool_calls}); false for
 *                       {@code tool_choice: "none"} and without tools
 * @param toolsForCalls  the functions a call may name (one for a named {@code tool_choice})
 */
record StructuredRequest(OutputConstraint constraint, List<ToolDefinition> tools, boolean parseToolCalls,
                         List<ToolDefinition> toolsForCalls) {

    static final StructuredRequest NONE = new StructuredRequest(null, List.of(), false, List.of());
}
