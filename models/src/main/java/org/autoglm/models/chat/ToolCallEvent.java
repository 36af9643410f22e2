package org.autoglm.models.chat;

/** What a {@link ToolCallStream} found in the next piece of the model's output. */
public sealed interface ToolCallEvent {

    /** Text for the user ({@code delta.content}). */
    record Content(String text) implements ToolCallEvent {}

    /** Call {@code index} begins: its id and function name (OpenAI's first tool-call delta). */
    record CallStart(int index, String id, String name) implements ToolCallEvent {}

    /** More of call {@code index}'s arguments JSON text. */
    record CallArguments(int index, String chunk) implements ToolCallEvent {}
}
