package org.autoglm.node.cluster;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.List;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.structured.OutputConstraint;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.TokenDelta;

/**
 * How engine requests and their output cross the grid: JSON bytes, opaque to {@code gossip}. Every node runs the
 * same jar, so both ends agree on the records.
 */
final class WireFormat {

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /**
     * A {@link GenerationRequest} with its deadline as epoch milliseconds (no java.time module needed). The output
     * constraint travels as data, so whichever node runs the request rebuilds the same grammar.
     */
    private record WireRequest(String id, int[] promptIds, SamplingParams params, int priority, Long deadlineMillis,
                               String sessionId, List<String> requiredTags, String model, String traceparent,
                               OutputConstraint constraint, String user, boolean batch) {}

    private WireFormat() {}

    static byte[] request(GenerationRequest r) {
        return write(new WireRequest(r.id(), r.promptIds(), r.params(), r.priority(),
                r.deadline() == null ? null : r.deadline().toEpochMilli(), r.sessionId(), r.requiredTags(), r.model(),
                r.traceparent(), r.constraint(), r.user(), r.batch()));
    }

    static GenerationRequest request(byte[] bytes) {
        WireRequest w = read(bytes, WireRequest.class);
        return new GenerationRequest(w.id(), w.promptIds(), w.params(), w.priority(),
                w.deadlineMillis() == null ? null : Instant.ofEpochMilli(w.deadlineMillis()), w.sessionId(),
                w.requiredTags(), w.model(), w.traceparent(), null, w.constraint(), w.user(), w.batch());
    }

    static byte[] delta(TokenDelta delta) {
        return write(delta);
    }

    static TokenDelta delta(byte[] bytes) {
        return read(bytes, TokenDelta.class);
    }

    static byte[] completion(Completion completion) {
        return write(completion);
    }

    static Completion completion(byte[] bytes) {
        return read(bytes, Completion.class);
    }

    private static byte[] write(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + value.getClass().getSimpleName(), e);
        }
    }

    private static <T> T read(byte[] bytes, Class<T> type) {
        try {
            return JSON.readValue(bytes, type);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot decode " + type.getSimpleName() + " from a peer", e);
        }
    }
}
