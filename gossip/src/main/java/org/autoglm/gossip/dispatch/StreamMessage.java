package org.autoglm.gossip.dispatch;

import java.io.Serializable;

/**
 * Output of one request, sent by the executing node to the node holding the client connection. Messages of one
 * request travel in order on the request's own topic; {@code attempt} lets the receiver ignore a dead attempt's
 * leftovers and {@code offset} (index of the first token among all generated ones) lets it drop repeats.
 */
final class StreamMessage implements Serializable {

    private static final long serialVersionUID = 1L;

    enum Kind { TOKENS, FINISH, ERROR }

    final Kind kind;
    final int attempt;
    final int offset;
    final int[] tokenIds;
    final byte[] payload;
    final String error;

    private StreamMessage(Kind kind, int attempt, int offset, int[] tokenIds, byte[] payload, String error) {
        this.kind = kind;
        this.attempt = attempt;
        this.offset = offset;
        this.tokenIds = tokenIds;
        this.payload = payload;
        this.error = error;
    }

    static StreamMessage tokens(int attempt, int offset, int[] ids, byte[] payload) {
        return new StreamMessage(Kind.TOKENS, attempt, offset, ids, payload, null);
    }

    static StreamMessage finish(int attempt, byte[] payload) {
        return new StreamMessage(Kind.FINISH, attempt, 0, new int[0], payload, null);
    }

    static StreamMessage error(int attempt, String message) {
        return new StreamMessage(Kind.ERROR, attempt, 0, new int[0], null, message);
    }

    static String topic(String requestId) {
        return "autoglm.stream." + requestId;
    }
}
