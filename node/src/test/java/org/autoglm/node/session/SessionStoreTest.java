package org.autoglm.node.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class SessionStoreTest {

    /** A clock the test moves by hand. */
    static final class ManualClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void sessionsExpireAfterTheirIdleTtl_andReadsKeepThemAlive() {
        ManualClock clock = new ManualClock();
        InMemorySessionStore store = new InMemorySessionStore(clock);
        store.put(Session.create("s1", "alice", "sys", Duration.ofSeconds(60), clock.now));
        clock.now = clock.now.plusSeconds(50);
        assertThat(store.get("s1")).isPresent(); // touched: idle timer restarts
        clock.now = clock.now.plusSeconds(50);
        assertThat(store.get("s1")).isPresent();
        clock.now = clock.now.plusSeconds(61);
        assertThat(store.get("s1")).isEmpty();
        assertThat(store.remove("s1")).isFalse();
    }

    @Test
    void putSweepsExpiredSessions() {
        ManualClock clock = new ManualClock();
        InMemorySessionStore store = new InMemorySessionStore(clock);
        for (int i = 0; i < 10; i++) {
            store.put(Session.create("old" + i, "a", null, Duration.ofSeconds(1), clock.now));
        }
        clock.now = clock.now.plusSeconds(5);
        store.put(Session.create("new", "a", null, Duration.ofSeconds(1), clock.now));
        assertThat(store.size()).isEqualTo(1);
    }

    @Test
    void aTurnAppendsToTheKeptHistory() {
        Instant t = Instant.now();
        Session s = Session.create("s", "a", "sys", Duration.ofMinutes(1), t);
        Session after = s.withTurn(List.of(), List.of(new Message("user", "q"), new Message("assistant", "a")), 12, t);
        assertThat(after.context()).containsExactly(new Message("system", "sys"), new Message("user", "q"),
                new Message("assistant", "a"));
        assertThat(after.tokenCount()).isEqualTo(12);
    }

    @Test
    void aTurnKeepsWhatAnotherTurnAppendedMeanwhileAndDropsWhatItTrimmed() {
        Instant t = Instant.now();
        Message u1 = new Message("user", "1"), a1 = new Message("assistant", "r1");
        Message u2 = new Message("user", "2"), a2 = new Message("assistant", "r2");
        Message u3 = new Message("user", "3"), a3 = new Message("assistant", "r3");
        Message u4 = new Message("user", "4"), a4 = new Message("assistant", "r4");
        Session seen = Session.create("s", "a", null, Duration.ofMinutes(1), t).withTurn(List.of(u1, a1, u2, a2), List.of(), 0, t);
        Session current = seen.withTurn(seen.history(), List.of(u3, a3), 0, t); // a turn that finished first
        // This turn sent only the newest two messages of what it saw (the oldest were trimmed to fit).
        Session after = current.afterTurn("turn-1", seen, List.of(u2, a2), List.of(u4, a4), 9, t);
        assertThat(after.history()).containsExactly(u2, a2, u3, a3, u4, a4);
    }

    @Test
    void aTurnAlreadyHeldIsNotAppendedAgain_andOnlyTheLastTurnIdsAreKept() {
        Instant t = Instant.now();
        Session s = Session.create("s", "a", null, Duration.ofMinutes(1), t);
        List<Message> turn = List.of(new Message("user", "q"), new Message("assistant", "a"));
        Session once = s.afterTurn("chatcmpl-1", s, List.of(), turn, 3, t);
        Session twice = once.afterTurn("chatcmpl-1", s, List.of(), turn, 3, t); // the save tried again after it committed
        assertThat(twice.history()).containsExactlyElementsOf(turn);
        assertThat(twice.holdsTurn("chatcmpl-1")).isTrue();

        Session many = once;
        for (int i = 2; i <= 40; i++) {
            many = many.afterTurn("chatcmpl-" + i, many, many.history(), List.of(new Message("user", "q" + i)), 0, t);
        }
        assertThat(many.savedTurns()).hasSize(Session.SAVED_TURN_IDS).endsWith("chatcmpl-40");
        assertThat(many.holdsTurn("chatcmpl-1")).isFalse();
    }

    @Test
    void updateIsAtomicAndSkipsUnknownSessions() {
        InMemorySessionStore store = new InMemorySessionStore();
        assertThat(store.update("nope", s -> s)).isEmpty();
        store.put(Session.create("s", "a", null, Duration.ofMinutes(1), Instant.now()));
        List<Thread> threads = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String q = "q" + i;
            Thread thread = new Thread(() -> {
                for (int k = 0; k < 50; k++) {
                    Session seen = store.get("s").orElseThrow();
                    String turnId = q + "/" + k;
                    store.update("s", cur -> cur.afterTurn(turnId, seen, seen.history(), List.of(new Message("user", q)), 0, Instant.now()));
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (Thread thread : threads) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        assertThat(store.get("s").orElseThrow().history()).hasSize(200);
    }
}
