package org.autoglm.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.session.SessionCache;
import org.autoglm.node.session.Message;
import org.autoglm.node.session.Session;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Turns of one session finishing at once on two real grid nodes: each is appended, none overwrites another. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GridSessionStoreTest {

    private static final int BASE = 27770 + Integer.getInteger("autoglm.test.portOffset", 0);
    private final List<GridNode> nodes = new ArrayList<>();
    private final List<GridSessionStore> stores = new ArrayList<>();

    @BeforeAll
    void start() {
        List<CompletableFuture<GridNode>> starting = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            int index = i;
            starting.add(CompletableFuture.supplyAsync(() -> GridNode.start(c -> {
                c.nodeName = "s" + index;
                c.gridPort = BASE + index;
                c.peers = List.of("127.0.0.1:" + BASE + ".." + (BASE + 1));
                c.expectedNodes = 2;
                c.failureDetection = Duration.ofMillis(1500);
            })));
        }
        starting.forEach(f -> nodes.add(f.join()));
        nodes.forEach(n -> stores.add(new GridSessionStore(new SessionCache(n))));
    }

    @AfterAll
    void stop() {
        nodes.forEach(GridNode::close);
    }

    @Test
    void twoTurnsStartedFromTheSameSessionAreBothKept() {
        stores.get(0).put(Session.create("sess-both", "alice", "sys", Duration.ofMinutes(5), Instant.now()));
        Session seenOn0 = stores.get(0).get("sess-both").orElseThrow();
        Session seenOn1 = stores.get(1).get("sess-both").orElseThrow();

        stores.get(0).update("sess-both", s -> s.afterTurn("turn-1", seenOn0, seenOn0.history(), turn("a"), 5, Instant.now()));
        stores.get(1).update("sess-both", s -> s.afterTurn("turn-2", seenOn1, seenOn1.history(), turn("b"), 5, Instant.now()));

        assertThat(stores.get(0).get("sess-both").orElseThrow().history()).extracting(Message::content)
                .containsExactly("a", "reply to a", "b", "reply to b");
    }

    @Test
    void concurrentTurnsOnTwoNodesLoseNothing() {
        stores.get(0).put(Session.create("sess-race", "alice", null, Duration.ofMinutes(5), Instant.now()));
        int turnsPerNode = 10;
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Void>> writers = new ArrayList<>();
        for (int n = 0; n < 2; n++) {
            GridSessionStore store = stores.get(n);
            String node = "n" + n;
            writers.add(CompletableFuture.runAsync(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int t = 0; t < turnsPerNode; t++) {
                    Session seen = store.get("sess-race").orElseThrow();
                    String question = node + "-" + t;
                    store.update("sess-race", s -> s.afterTurn(question, seen, seen.history(), turn(question), 1, Instant.now()));
                }
            }));
        }
        go.countDown();
        writers.forEach(CompletableFuture::join);

        List<String> questions = stores.get(1).get("sess-race").orElseThrow().history().stream()
                .filter(m -> m.role().equals("user")).map(Message::content).toList();
        assertThat(questions).hasSize(2 * turnsPerNode);
        for (int n = 0; n < 2; n++) { // every turn, and each node's turns in the order it made them
            String node = "n" + n;
            assertThat(questions.stream().filter(q -> q.startsWith(node)).toList())
                    .containsExactlyElementsOf(java.util.stream.IntStream.range(0, turnsPerNode)
                            .mapToObj(t -> node + "-" + t).toList());
        }
    }

    @Test
    void anUpdateDoesNotBringBackADeletedSession() {
        stores.get(0).put(Session.create("sess-gone", "alice", null, Duration.ofMinutes(5), Instant.now()));
        Session seen = stores.get(0).get("sess-gone").orElseThrow();
        assertThat(stores.get(1).remove("sess-gone")).isTrue();
        assertThat(stores.get(0).update("sess-gone", s -> s.afterTurn("turn-4", seen, seen.history(), turn("late"), 1,
                Instant.now()))).isEmpty();
        assertThat(stores.get(0).get("sess-gone")).isEmpty();
    }

    private static List<Message> turn(String question) {
        return List.of(new Message("user", question), new Message("assistant", "reply to " + question));
    }
}
