package org.autoglm.gossip.queue;

import java.io.Serializable;
import java.util.List;
import java.util.UUID;

/**
 * One request in the shared queue: what placement needs to know about it, the opaque payload the executing
 * node turns back into an engine request, and its state. Immutable; changes make copies. A plain class because
 * Ignite's binary marshaller cannot write records.
 */
public final class QueuedRequest implements Serializable {

    private static final long serialVersionUID = 1L;

    private String id;
    private byte[] payload;
    private String model;
    private String sessionId;
    private List<String> requiredTags;
    private int promptTokens;
    private int maxTokens;
    private UUID origin;
    private long enqueuedAtMillis;
    private RequestState state;
    private long term;
    private UUID assignee;
    private int attempts;
    private long notBeforeMillis;
    private int[] resumeIds;
    private boolean cancelled;
    private String error;
    private boolean batch;
    private int priority;
    private String user;
    private long[] prefixHashes;
    private long assignedAtMillis;
    private long claimedAtMillis;

    private QueuedRequest() {}

    /**
     * A new PENDING request.
     *
     * @param id           request id, unique in the cluster
     * @param payload      the engine request, serialized by the node; the grid never reads it
     * @param model        served model name asked for
     * @param sessionId    session for placement affinity, or null
     * @param requiredTags tags the executing node must have
     * @param promptTokens prompt length (expected-wait estimate)
     * @param maxTokens    most tokens to generate (expected-wait estimate)
     * @param origin       the node holding the client connection, where tokens are streamed to
     */
    public static QueuedRequest pending(String id, byte[] payload, String model, String sessionId,
                                        List<String> requiredTags, int promptTokens, int maxTokens, UUID origin) {
        QueuedRequest r = new QueuedRequest();
        r.id = id;
        r.payload = payload;
        r.model = model;
        r.sessionId = sessionId;
        r.requiredTags = requiredTags == null ? List.of() : List.copyOf(requiredTags);
        r.promptTokens = promptTokens;
        r.maxTokens = maxTokens;
        r.origin = origin;
        r.enqueuedAtMillis = System.currentTimeMillis();
        r.state = RequestState.PENDING;
        r.resumeIds = new int[0];
        return r;
    }

    private QueuedRequest copy() {
        QueuedRequest r = new QueuedRequest();
        r.id = id;
        r.payload = payload;
        r.model = model;
        r.sessionId = sessionId;
        r.requiredTags = requiredTags;
        r.promptTokens = promptTokens;
        r.maxTokens = maxTokens;
        r.origin = origin;
        r.enqueuedAtMillis = enqueuedAtMillis;
        r.state = state;
        r.term = term;
        r.assignee = assignee;
        r.attempts = attempts;
        r.notBeforeMillis = notBeforeMillis;
        r.resumeIds = resumeIds;
        r.cancelled = cancelled;
        r.error = error;
        r.batch = batch;
        r.priority = priority;
        r.user = user;
        r.prefixHashes = prefixHashes;
        r.assignedAtMillis = assignedAtMillis;
        r.claimedAtMillis = claimedAtMillis;
        return r;
    }

    /**
     * The same request with the chained hashes of its prompt's leading full KV blocks, for cache-aware placement.
     */
    public QueuedRequest withPrefix(long[] chain) {
        QueuedRequest r = copy();
        r.prefixHashes = chain == null ? null : chain.clone();
        return r;
    }

    /**
     * The same request with what the leader orders the queue by.
     *
     * @param batch    a batch line: placed after interactive work
     * @param priority lower first, within a class
     * @param user     who sent it (JWT subject), for fair share between users; null counts as one anonymous user
     */
    public QueuedRequest ordered(boolean batch, int priority, String user) {
        QueuedRequest r = copy();
        r.batch = batch;
        r.priority = priority;
        r.user = user;
        return r;
    }

    QueuedRequest assigned(long term, UUID node) {
        QueuedRequest r = copy();
        r.state = RequestState.ASSIGNED;
        r.term = term;
        r.assignee = node;
        r.attempts = attempts + 1;
        r.assignedAtMillis = System.currentTimeMillis();
        return r;
    }

    QueuedRequest running() {
        QueuedRequest r = copy();
        r.state = RequestState.RUNNING;
        r.claimedAtMillis = System.currentTimeMillis();
        return r;
    }

    QueuedRequest requeued(long notBefore, int[] resume, String reason) {
        QueuedRequest r = copy();
        r.state = RequestState.PENDING;
        r.assignee = null;
        r.notBeforeMillis = notBefore;
        r.error = reason;
        if (resume != null) {
            r.resumeIds = resume.clone();
        }
        return r;
    }

    /** PENDING again after a node refused it unrun (it was full): that assignment is not counted as an attempt. */
    QueuedRequest refused(long notBefore, String reason) {
        QueuedRequest r = requeued(notBefore, null, reason);
        r.attempts = Math.max(0, attempts - 1);
        return r;
    }

    QueuedRequest finished(RequestState end, String message) {
        QueuedRequest r = copy();
        r.state = end;
        r.error = message;
        return r;
    }

    QueuedRequest withPriority(int newPriority) {
        QueuedRequest r = copy();
        r.priority = newPriority;
        return r;
    }

    QueuedRequest withCancelled() {
        QueuedRequest r = copy();
        r.cancelled = true;
        return r;
    }

    public String id() { return id; }
    public byte[] payload() { return payload; }
    public String model() { return model; }
    public String sessionId() { return sessionId; }
    public List<String> requiredTags() { return requiredTags; }
    public int promptTokens() { return promptTokens; }
    public int maxTokens() { return maxTokens; }
    public UUID origin() { return origin; }
    public long enqueuedAtMillis() { return enqueuedAtMillis; }
    public RequestState state() { return state; }
    /** Term of the leader that made the current assignment; 0 before the first. */
    public long term() { return term; }
    /** Node it is assigned to or running on, or null. */
    public UUID assignee() { return assignee; }
    /** Assignments so far (the current one included). */
    public int attempts() { return attempts; }
    /** Wall-clock time before which it must not be placed again (backoff after a failure). */
    public long notBeforeMillis() { return notBeforeMillis; }
    /** Tokens the client already has from earlier attempts: a new attempt continues after them. */
    public int[] resumeIds() { return resumeIds.clone(); }
    public boolean cancelled() { return cancelled; }
    /** Why it failed, or why it was last re-queued. */
    public String error() { return error; }
    public boolean batch() { return batch; }
    public int priority() { return priority; }
    /** The sender's JWT subject, or null. */
    public String user() { return user; }
    /** Chained hashes of the prompt's leading full KV blocks (first block first); empty when unknown. */
    public long[] prefixHashes() { return prefixHashes == null ? new long[0] : prefixHashes; }

    /** Wall-clock time the current assignment was made (the leader's clock); 0 before the first. */
    public long assignedAtMillis() { return assignedAtMillis; }
    /** Wall-clock time the current assignment was claimed (the executing node's clock); 0 before. */
    public long claimedAtMillis() { return claimedAtMillis; }

    /** Prompt plus tokens still to generate: the work it adds to a node. */
    public long expectedTokens() {
        return (long) promptTokens + resumeIds.length + Math.max(0, maxTokens - resumeIds.length);
    }

    @Override
    public String toString() {
        return id + "[" + state + (assignee == null ? "" : " on " + assignee + " term " + term)
                + ", attempt " + attempts + "]";
    }
}
