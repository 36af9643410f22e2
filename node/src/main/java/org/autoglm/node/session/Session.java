package org.autoglm.node.session;

import java.io.Serializable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A server-side conversation: an optional system prompt and the turns so far. Immutable and
 * serializable, so a store may keep it anywhere (this process, or a grid cache on the cluster).
 *
 * @param id           {@code sess-...}
 * @param owner        subject of the caller that created it; other users cannot see it
 * @param systemPrompt sent first on every turn and never trimmed, or null
 * @param history      user and assistant messages, oldest first
 * @param tokenCount   prompt tokens of the last turn (system prompt + history as sent), 0 before the first
 * @param createdAt    creation time
 * @param ttl          idle time after which the session expires
 * @param lastUsedAt   last creation, read or turn
 * @param savedTurns   ids of the last {@value #SAVED_TURN_IDS} requests whose turn this session holds, oldest first: a
 *                     save the grid may have committed although it reported a failure is tried again, and must not
 *                     append the turn twice
 */
public record Session(
        String id,
        String owner,
        String systemPrompt,
        List<Message> history,
        int tokenCount,
        Instant createdAt,
        Duration ttl,
        Instant lastUsedAt,
        List<String> savedTurns) implements Serializable {

    /** Enough for the turns of one session that can be in flight at once. */
    static final int SAVED_TURN_IDS = 16;

    public Session {
        history = List.copyOf(history);
        savedTurns = savedTurns == null ? List.of() : List.copyOf(savedTurns); // null: stored before the field existed
    }

    public static Session create(String id, String owner, String systemPrompt, Duration ttl, Instant now) {
        return new Session(id, owner, systemPrompt, List.of(), 0, now, ttl, now, List.of());
    }

    public Instant expiresAt() {
        return lastUsedAt.plus(ttl);
    }

    public boolean expired(Instant now) {
        return !now.isBefore(expiresAt());
    }

    /** The messages a turn starts with: the system prompt, then the history. */
    public List<Message> context() {
        List<Message> all = new ArrayList<>(history.size() + 1);
        if (systemPrompt != null) {
            all.add(new Message("system", systemPrompt));
        }
        all.addAll(history);
        return all;
    }

    /** This session after a turn: the kept history plus the new messages and the reply. */
    public Session withTurn(List<Message> keptHistory, List<Message> turn, int promptTokens, Instant now) {
        List<Message> next = new ArrayList<>(keptHistory);
        next.addAll(turn);
        return new Session(id, owner, systemPrompt, next, promptTokens, createdAt, ttl, now, savedTurns);
    }

    /**
     * This session after turn {@code turnId} (the request's id) that started from {@code seen} and sent
     * {@code keptHistory} (the newest part of {@code seen}'s history): the messages trimmed from the front stay dropped,
     * turns that finished meanwhile (already in this session) are kept, then the turn and its reply are appended. With
     * no concurrent turn this is {@link #withTurn}. A turn this session already holds leaves it as it is.
     */
    public Session afterTurn(String turnId, Session seen, List<Message> keptHistory, List<Message> turn,
                             int promptTokens, Instant now) {
        if (holdsTurn(turnId)) {
            return this;
        }
        int trimmed = Math.min(history.size(), Math.max(0, seen.history().size() - keptHistory.size()));
        Session next = withTurn(history.subList(trimmed, history.size()), turn, promptTokens, now);
        List<String> saved = new ArrayList<>(savedTurns);
        saved.add(turnId);
        return new Session(id, owner, systemPrompt, next.history, promptTokens, createdAt, ttl, now,
                saved.subList(Math.max(0, saved.size() - SAVED_TURN_IDS), saved.size()));
    }

    /** True when the turn of request {@code turnId} is in this session. */
    public boolean holdsTurn(String turnId) {
        return savedTurns.contains(turnId);
    }

    public Session touched(Instant now) {
        return new Session(id, owner, systemPrompt, history, tokenCount, createdAt, ttl, now, savedTurns);
    }
}
