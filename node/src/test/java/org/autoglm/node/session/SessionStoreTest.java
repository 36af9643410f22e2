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
}
