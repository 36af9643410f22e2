package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.ignite.IgniteCheckedException;
import org.apache.ignite.failure.FailureContext;
import org.apache.ignite.failure.FailureType;
import org.apache.ignite.internal.GridKernalGateway;
import org.apache.ignite.internal.IgniteEx;
import org.apache.ignite.internal.util.future.GridFutureAdapter;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.junit.jupiter.api.Test;

/**
 * Seed 2 of the long fault run: a leader paused past failure detection woke segmented; Ignite's failure handler began
 * stopping its grid node, and meanwhile the node, seeing no majority, began its own restart to rejoin, stopped the same
 * grid node a second time, and never came back. The harness's thread dumps of two more such nodes showed why: the
 * failure handler's stop waited for the grid's gateway, held by a request thread inside a session transaction's close
 * that never returned, and the rejoin's second stop waited behind it. Here a member is segmented while a thread of ours
 * waits inside a grid call holding the gateway, and then loses its majority: the rejoin waits for the failure
 * handler's stop (no second stop), interrupts the thread the stop waits for, and rejoins on a fresh grid node.
 * Grid ports 29400-29401 (+ the offset).
 */
class FailingStopRejoinTest {

    private static final int PORT = TestGrid.offsetPort(29400, 2);

    @Test
    void aSegmentedNodeWhoseStopWaitsForAThreadInsideTheGridStillRejoins() throws Exception {
        // One after the other: started at once on a loaded machine, two members can miss each other's handshake.
        Cluster keeper = start("keeper", PORT, false);
        Cluster waker = start("waker", PORT + 1, true);
        CountDownLatch held = new CountDownLatch(1);
        AtomicBoolean interruptedInside = new AtomicBoolean();
        Thread holder = null;
        try {
            GridNode before = waker.grid();
            java.util.UUID id = before.localId();
            await().atMost(Duration.ofSeconds(30)).until(() -> before.hasQuorum() && before.visibleNodes() == 2);
            Thread.sleep(1_500); // the rejoin watch has seen the majority: it counts its absence from now on

            // A thread of ours inside a grid call that never returns by itself (as a session transaction's close did in
            // the long run's thread dumps) holds the grid's gateway: the failure handler's stop waits for it.
            holder = new Thread(() -> {
                GridKernalGateway gateway = ((IgniteEx) before.ignite()).context().gateway();
                gateway.readLock();
                try {
                    held.countDown();
                    new GridFutureAdapter<Void>().get();
                } catch (IgniteCheckedException e) {
                    interruptedInside.set(true);
                } finally {
                    gateway.readUnlock();
                }
            }, "test-inside-the-grid-of-waker"); // named after its grid node: beside others in one JVM, only those are its
            holder.start();
            assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
            ((IgniteEx) before.ignite()).context().failure().process(new FailureContext(FailureType.SEGMENTATION, null));
            await().atMost(Duration.ofSeconds(10)).until(before::failing);
            // And the waker loses its majority: past rejoinAfter it would restart its grid node beside that stop.
            CompletableFuture<Void> keeperGone = CompletableFuture.runAsync(keeper::close);

            // The stop goes on (the thread inside the grid is interrupted) and the node rejoins on a fresh grid node.
            await().atMost(Duration.ofSeconds(60)).until(() -> waker.grid() != before && waker.grid().running());
            assertThat(waker.grid().localId()).isNotEqualTo(id);
            assertThat(interruptedInside).isTrue();
            keeperGone.get(60, TimeUnit.SECONDS);
        } finally {
            if (holder != null) {
                holder.interrupt();
                holder.join(10_000);
            }
            waker.close();
            keeper.close();
        }
    }

    private static Cluster start(String name, int port, boolean rejoin) {
        NodeInfo self = new NodeInfo(null, name, "glm-test", "h", List.of(), "djl", "CPU", 8, 128, "http://127.0.0.1:0");
        return Cluster.start(TestGrid.config(name, port, PORT, 2).andThen(c -> {
            c.rejoin = rejoin;
            c.failureDetection = Duration.ofSeconds(4); // no spurious drops at load 50: a drop here is the test's own
        }), self, () -> NodeLoad.IDLE);
    }
}
