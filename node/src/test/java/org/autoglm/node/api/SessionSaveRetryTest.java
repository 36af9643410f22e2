package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.function.UnaryOperator;
import org.autoglm.node.session.InMemorySessionStore;
import org.autoglm.node.session.Session;
import org.autoglm.node.session.SessionStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A session save that the grid reported as failed although its transaction committed (the long fault run's seed 51: a
 * one-way loss delayed a one-phase commit past the 5 s transaction timeout; the commit landed after the heal, the
 * retry appended the turn a second time). Real HTTP over a store that behaves as that grid did.
 */
class SessionSaveRetryTest {

    ScriptedServer api;

    @AfterEach
    void stop() {
        api.close();
    }

    @Test
    void aSaveTriedAgainAfterItCommittedHoldsTheTurnOnce() throws Exception {
        String id = sessionOnAGridThatCommitsThenFails(true);

        Http.Response turn = api.http.post("/v1/chat/completions", turn(id, "hi"));
        assertThat(turn.status()).as(turn.body()).isEqualTo(200);
        assertThat(userTurns(id)).isEqualTo(1);
    }

    @Test
    void aSaveReportedFailedThatCommittedIsAnsweredAsSaved() throws Exception {
        String id = sessionOnAGridThatCommitsThenFails(false);

        Http.Response turn = api.http.post("/v1/chat/completions", turn(id, "hi"));
        assertThat(turn.status()).as(turn.body()).isEqualTo(200); // not "send it again": it is saved
        assertThat(turn.json().at("/choices/0/message/content").asText()).isEqualTo("Hello world!");
        assertThat(userTurns(id)).isEqualTo(1);
    }

    /** Starts the server over a {@link CommitsThenFails} store and creates a session there. */
    private String sessionOnAGridThatCommitsThenFails(boolean storeRetries) {
        SessionStore grid = new CommitsThenFails(new InMemorySessionStore(), storeRetries);
        api = ScriptedServer.start(new CharModel("m", 4096), c -> c.sessions = grid);
        Http.Response created = api.http.post("/v1/sessions", "{}");
        assertThat(created.status()).as(created.body()).isEqualTo(200);
        return created.json().path("id").asText();
    }

    private static String turn(String session, String content) {
        return "{\"model\":\"m\",\"session_id\":\"" + session + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + content + "\"}]}";
    }

    private long userTurns(String session) throws Exception {
        Http.Response stored = api.http.get("/v1/sessions/" + session);
        assertThat(stored.status()).as(stored.body()).isEqualTo(200);
        long n = 0;
        for (var m : stored.json().path("messages")) {
            n += m.path("role").asText().equals("user") ? 1 : 0;
        }
        return n;
    }

    /**
     * The first update commits and then fails as a transaction timeout; {@code retries}: the store tries it again by
     * itself (as the grid store does on a timeout), otherwise the failure reaches the caller.
     */
    private static final class CommitsThenFails implements SessionStore {
        private final SessionStore inner;
        private final boolean retries;
        private boolean failedOnce;

        CommitsThenFails(SessionStore inner, boolean retries) {
            this.inner = inner;
            this.retries = retries;
        }

        @Override
        public synchronized Optional<Session> update(String id, UnaryOperator<Session> change) {
            Optional<Session> committed = inner.update(id, change);
            if (failedOnce) {
                return committed;
            }
            failedOnce = true;
            if (retries) {
                return inner.update(id, change);
            }
            throw new javax.cache.CacheException(new org.apache.ignite.transactions.TransactionTimeoutException(
                    "Failed to acquire lock within provided timeout for transaction"));
        }

        @Override
        public Optional<Session> get(String id) {
            return inner.get(id);
        }

        @Override
        public void put(Session session) {
            inner.put(session);
        }

        @Override
        public boolean remove(String id) {
            return inner.remove(id);
        }

        @Override
        public int countOwnedBy(String owner) {
            return inner.countOwnedBy(owner);
        }
    }
}
