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
 */
public record Session(
        String id,
        String owner,
        String systemPrompt,
        List<Message> history,
        int tokenCount,
        Instant createdAt,
        Duration ttl,
        Instant lastUsedAt) implements Serializable {

    public Session {
        history = List.copyOf(history);
    }

    public static Session create(String id, String owner, String systemPrompt, Duration ttl, Instant now) {
        return new Session(id, owner, systemPrompt, List.of(), 0, now, ttl, now);
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
        return new Session(id, owner, systemPrompt, next, promptTokens, createdAt, ttl, now);
    }

    /**
     * This session after a turn that started from {@code seen} and sent {@code keptHistory} (the newest part of
     * {@code seen}'s history): the messages trimmed from the front stay dropped, turns that finished meanwhile (already
     * in this session) are kept, then the turn and its reply are appended. With no concurrent turn this is
     * {@link #withTurn}.
     */
    public Session afterTurn(Session seen, List<Message> keptHistory, List<Message> turn, int promptTokens, Instant now) {
        int trimmed = Math.min(history.size(), Math.max(0, seen.history().size() - keptHistory.size()));
        return withTurn(history.subList(trimmed, history.size()), turn, promptTokens, now);
    }

    public Session touched(Instant now) {
        return new Session(id, owner, systemPrompt, history, tokenCount, createdAt, ttl, now);
    }
}
