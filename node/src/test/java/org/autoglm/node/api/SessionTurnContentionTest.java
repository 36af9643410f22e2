package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.transactions.Transaction;
import org.apache.ignite.transactions.TransactionConcurrency;
import org.apache.ignite.transactions.TransactionIsolation;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.session.SessionCache;
import org.autoglm.node.cluster.GridSessionStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A session turn whose session another transaction holds locked past the store's 5 s lock wait (during a partition, a
 * transaction of the cut-off side holds its keys until the partition heals or that node is dropped). The long fault
 * run's seed 25 answered such a turn, already generated, with HTTP 500 and lost it; now the update waits for the lock
 * and the turn is answered and kept. Real grid node, real HTTP; the engine is scripted.
 */
class SessionTurnContentionTest {

    /** This test's grid port (communication: + 1000), moved by the suite's port offset where it fits. */
    private static final int PORT = port(29400);
    static GridNode grid;
    static ScriptedServer api;
    static Http http;

    @BeforeAll
    static void start() {
        grid = GridNode.start(c -> {
            c.nodeName = "contended";
            c.gridPort = PORT;
        });
        GridSessionStore sessions = new GridSessionStore(new SessionCache(grid), java.time.Clock.systemUTC(),
                grid::storageFullReason);
        api = ScriptedServer.start(new CharModel("m", 4096), c -> {
            c.maxSessionsPerUser = 0;
            c.sessions = sessions;
            c.deadReason = () -> grid.running() ? null : "this node's grid node has stopped";
        });
        http = api.http;
    }

    @AfterAll
    static void stop() {
        api.close();
        grid.close();
    }

    @Test
    void aTurnWhoseSessionIsLockedPastTheLockWaitIsAnsweredAndKept() throws Exception {
        Http.Response created = http.post("/v1/sessions", "{\"system_prompt\":\"be brief\"}");
        assertThat(created.status()).as(created.body()).isEqualTo(200);
        String id = created.json().path("id").asText();

        CountDownLatch locked = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            IgniteCache<String, Object> cache = grid.ignite().cache(GridCaches.SESSIONS);
            try (Transaction tx = grid.ignite().transactions().txStart(TransactionConcurrency.PESSIMISTIC,
                    TransactionIsolation.REPEATABLE_READ, 30_000, 0)) {
                cache.get(id); // takes the session's lock, as the turn's update does
                locked.countDown();
                Thread.sleep(7_000); // past the update's 5 s lock wait
                tx.rollback();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "session-lock-holder");
        holder.start();
        assertThat(locked.await(20, TimeUnit.SECONDS)).isTrue();

        Http.Response turn = http.post("/v1/chat/completions", "{\"model\":\"m\",\"session_id\":\"" + id
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        holder.join();
        assertThat(turn.status()).as(turn.body()).isEqualTo(200);
        assertThat(turn.json().at("/choices/0/message/content").asText()).isEqualTo("Hello world!");
        Http.Response kept = http.get("/v1/sessions/" + id);
        assertThat(kept.body()).contains("Hello world!").contains("\"hi\"");
    }

    private static int port(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 <= 65535 ? moved : port;
    }
}
