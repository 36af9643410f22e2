package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.autoglm.gossip.placement.QueueOrder;
import org.autoglm.gossip.queue.QueuedRequest;
import org.junit.jupiter.api.Test;

class QueueOrderTest {

    private static int next;

    /** Ids sort in creation order, so "older" is "created earlier" even within one millisecond. */
    static QueuedRequest request(String user, boolean batch, int priority) {
        String id = String.format("r%04d-%s", next++, user);
        return QueuedRequest.pending(id, new byte[0], "m", null, List.of(), 4, 4, UUID.randomUUID())
                .ordered(batch, priority, user);
    }

    static List<String> users(List<QueuedRequest> ordered) {
        return ordered.stream().map(QueuedRequest::user).toList();
    }

    @Test
    void interactiveBeforeBatchThenPriorityThenAge() {
        QueuedRequest oldLine = request("a", true, 0);
        QueuedRequest lowChat = request("a", false, 5);
        QueuedRequest chat = request("a", false, 0);
        QueuedRequest urgentLine = request("a", true, -1);
        List<QueuedRequest> ordered = new QueueOrder().order(List.of(oldLine, lowChat, chat, urgentLine), Map.of());
        assertThat(ordered).containsExactly(chat, lowChat, urgentLine, oldLine);
    }

    @Test
    void aFloodOfOneUserIsInterleavedWithTheOthers() {
        List<QueuedRequest> pending = new ArrayList<>();
        for (int i = 0; i < 6; i++) pending.add(request("flood", true, 0));
        pending.add(request("bob", true, 0));
        pending.add(request("bob", true, 0));
        List<String> order = users(new QueueOrder().order(pending, Map.of()));
        assertThat(order).containsExactly("flood", "bob", "flood", "bob", "flood", "flood", "flood", "flood");
    }

    @Test
    void workAlreadyRunningCountsAgainstItsUser() {
        List<QueuedRequest> pending = List.of(request("busy", false, 0), request("idle", false, 0));
        assertThat(users(new QueueOrder().order(pending, Map.of("busy", 3)))).containsExactly("idle", "busy");
    }

    @Test
    void weightsGiveProportionalShares() {
        List<QueuedRequest> pending = new ArrayList<>();
        for (int i = 0; i < 4; i++) pending.add(request("small", true, 0));
        for (int i = 0; i < 4; i++) pending.add(request("big", true, 0));
        List<String> order = users(new QueueOrder(Map.of("big", 2.0)).order(pending, Map.of()));
        assertThat(order.subList(0, 6)).containsExactly("small", "big", "big", "small", "big", "big");
    }
}
