package org.autoglm.models.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Splits a model's output, as it is generated, into text for the user and tool calls, in one checkpoint
 * family's format. Text that could still turn out to be the start of a call is held back until it is decided.
 * The same machine parses a whole output ({@link ToolCallFormat#parse}), so streamed and non-streamed answers
 * agree. Not thread-safe; one per choice.
 */
public abstract class ToolCallStream {

    /** Everything pushed so far. */
    protected final StringBuilder text = new StringBuilder();
    private final List<ToolCallEvent> pending = new ArrayList<>();
    private int calls;

    /** Feeds the next piece of output; returns what can be said about it now. */
    public final List<ToolCallEvent> push(String piece) {
        text.append(piece);
        advance(false);
        return drain();
    }

    /** The output is complete: whatever was held back is decided now. */
    public final List<ToolCallEvent> finish() {
        advance(true);
        return drain();
    }

    /** Number of calls started so far. */
    public final int numCalls() {
        return calls;
    }

    /** Looks at {@link #text} past what was already decided and emits events; {@code end}: no more text comes. */
    protected abstract void advance(boolean end);

    protected final void content(String s) {
        if (!s.isEmpty()) pending.add(new ToolCallEvent.Content(s));
    }

    /** Starts the next call; returns its index. */
    protected final int startCall(String name) {
        int index = calls++;
        pending.add(new ToolCallEvent.CallStart(index, newCallId(), name));
        return index;
    }

    protected final void arguments(int index, String chunk) {
        if (!chunk.isEmpty()) pending.add(new ToolCallEvent.CallArguments(index, chunk));
    }

    /** OpenAI's shape of call ids. */
    public static String newCallId() {
        return "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }

    /** Length of the longest suffix of {@code s} that is a proper prefix of {@code marker}: text to hold back. */
    protected static int partialMarker(CharSequence s, String marker) {
        for (int n = Math.min(marker.length() - 1, s.length()); n > 0; n--) {
            if (marker.regionMatches(0, s.toString(), s.length() - n, n)) return n;
        }
        return 0;
    }

    private List<ToolCallEvent> drain() {
        if (pending.isEmpty()) return List.of();
        List<ToolCallEvent> out = List.copyOf(pending);
        pending.clear();
        return out;
    }
}
