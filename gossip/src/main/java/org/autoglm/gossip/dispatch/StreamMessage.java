package org.autoglm.gossip.dispatch;

import java.io.Serializable;
import java.util.List;

/**
 * Output of one request, sent by the executing node to the node holding the client connection. Messages of one
 * request travel in order on the request's own topic; {@code attempt} lets the receiver ignore a dead attempt's
 * leftovers and {@code offset} (index of the first token among all generated ones) lets it drop repeats. A BATCH
 * carries several messages of one request that piled up while the link was busy, to be read in order.
 */
final class StreamMessage implements Serializable {

    private static final long serialVersionUID = 1L;

    enum Kind { SCHEDULED, TOKENS, FINISH, ERROR, BATCH }

    final Kind kind;
    final int attempt;
    final int offset;
    final int[] tokenIds;
    final byte[] payload;
    final String error;
    final List<StreamMessage> parts;

    private StreamMessage(Kind kind, int attempt, int offset, int[] tokenIds, byte[] payload, String error) {
        this(kind, attempt, offset, tokenIds, payload, error, List.of());
    }

    private StreamMessage(Kind kind, int attempt, int offset, int[] tokenIds, byte[] payload, String error,
                          List<StreamMessage> parts) {
        this.kind = kind;
        this.attempt = attempt;
        this.offset = offset;
        this.tokenIds = tokenIds;
        this.payload = payload;
        this.error = error;
        this.parts = parts;
    }

    /** The executing engine took the request into a batch for the first time (ends the queue phase of a trace). */
    static StreamMessage scheduled(int attempt) {
        return new StreamMessage(Kind.SCHEDULED, attempt, 0, new int[0], null, null);
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

    /** Several messages of one request, in order; its attempt is the newest part's. */
    static StreamMessage batch(List<StreamMessage> parts) {
        int attempt = parts.stream().mapToInt(p -> p.attempt).max().orElse(0);
        return new StreamMessage(Kind.BATCH, attempt, 0, new int[0], null, null, new java.util.ArrayList<>(parts));
    }

    static String topic(String requestId) {
        return "autoglm.stream." + requestId;
    }
}
