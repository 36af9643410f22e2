package org.autoglm.node.plugins;

/**
 * What a plugin does for one request after accepting it. Calls for one request come from one thread, in
 * order: deltas of each choice, that choice's end, then one completion.
 */
public interface RequestHooks {

    RequestHooks NONE = new RequestHooks() {};

    /**
     * Output text of choice {@code choice} about to be sent. Returns the text to send now: the same, a
     * rewritten one, or less (holding back text that may continue in the next delta).
     *
     * @throws ContentRejectedException to stop this choice (finish reason {@code content_filter})
     */
    default String onDelta(int choice, String text) throws ContentRejectedException {
        return text;
    }

    /** The choice produced its last token: return whatever text was held back. */
    default String onChoiceEnd(int choice) {
        return "";
    }

    /** The request is over (answered, failed or cancelled). */
    default void onCompletion(RequestOutcome outcome) {}
}
