package org.autoglm.gossip.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Output to a node whose link blocks waits on that node's lane only: the caller and other destinations go on. */
class StreamSenderTest {

    private static final UUID SLOW = UUID.randomUUID();
    private static final UUID FAST = UUID.randomUUID();

    private final CountDownLatch slowLinkOpen = new CountDownLatch(1);
    private final Map<UUID, List<StreamMessage>> sent = new ConcurrentHashMap<>();
    private final StreamSender sender = new StreamSender("test", (node, topic, message) -> {
        if (node.equals(SLOW)) {
            try {
                slowLinkOpen.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        sent.computeIfAbsent(node, n -> new CopyOnWriteArrayList<>()).add(message);
    });

    @AfterEach
    void close() {
        slowLinkOpen.countDown();
        sender.close();
    }

    @Test
    void aBlockedDestinationStallsNeitherTheCallerNorOtherStreams() {
        StreamSender.Outbox slow = sender.outbox("slow-request", SLOW, e -> {});
        StreamSender.Outbox fast = sender.outbox("fast-request", FAST, e -> {});

        // The engine thread's side: every add returns although the slow link takes nothing.
        CompletableFuture<Void> engine = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < 50; i++) {
                slow.add(StreamMessage.tokens(1, i, new int[] {i}, null));
            }
            for (int i = 0; i < 3; i++) {
                fast.add(StreamMessage.tokens(1, i, new int[] {i}, null));
            }
        });
        await().atMost(Duration.ofSeconds(5)).until(engine::isDone);
        await().atMost(Duration.ofSeconds(5)).until(() -> tokens(FAST).size() == 3);
        assertThat(tokens(FAST)).containsExactly(0, 1, 2);
        assertThat(sent.get(SLOW)).isNull();

        // The link opens: the pile-up leaves in order, coalesced behind the one send that was stuck.
        slowLinkOpen.countDown();
        await().atMost(Duration.ofSeconds(5)).until(() -> tokens(SLOW).size() == 50);
        assertThat(tokens(SLOW)).containsExactlyElementsOf(IntStream.range(0, 50).boxed().toList());
        assertThat(sent.get(SLOW)).hasSizeLessThanOrEqualTo(2);
    }

    @Test
    void aFailedSendReportsTheStreamUndeliverable() {
        StreamSender failing = new StreamSender("failing", (node, topic, message) -> {
            throw new IllegalStateException("node left");
        });
        AtomicReference<RuntimeException> reported = new AtomicReference<>();
        failing.outbox("r", FAST, reported::set).add(StreamMessage.finish(1, new byte[0]));
        await().atMost(Duration.ofSeconds(5)).until(() -> reported.get() != null);
        assertThat(reported.get()).hasMessage("node left");
        failing.close();
    }

    private List<Integer> tokens(UUID node) {
        List<Integer> out = new ArrayList<>();
        for (StreamMessage message : sent.getOrDefault(node, List.of())) {
            List<StreamMessage> parts = message.kind == StreamMessage.Kind.BATCH ? message.parts : List.of(message);
            parts.forEach(p -> IntStream.of(p.tokenIds).forEach(out::add));
        }
        return out;
    }
}
