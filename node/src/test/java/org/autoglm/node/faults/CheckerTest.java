package org.autoglm.node.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The checker of the fault harness can fail: each property it promises is broken once in a doctored history (a lost
 * request, a gap, a repeat, a second continuation, two leaders in a term, a zombie leader, a lost and a forked
 * session), and each is reported; a clean history of the same shape passes.
 */
class CheckerTest {

    private static final String KEY = Workload.key("[10,11,12,13]", 4);
    private static final Map<String, String> REFERENCES = Map.of(KEY, " a b c d");

    @Test
    void aCleanHistoryPasses() {
        History history = new History();
        completed(history, 0, " a b c d");
        errored(history, 1, 100, 200);
        history.faults.add(new History.Fault("kill -9 f1", List.of(1), 150, 900));
        history.leaderSeen(1, "f0", true, "f0");
        history.leaderSeen(2, "f2", true, "f2");
        History.Session session = session(history, "s1", "turn 0", "turn 1");

        Checker checker = new Checker().check(history, REFERENCES, i -> stored(session.id, "turn 0", "turn 1"));

        assertThat(checker.violations).isEmpty();
    }

    @Test
    void anAcceptedRequestThatFailsWhileItsNodeKeptTheMajorityIsLost() {
        History history = new History();
        errored(history, 1, 100, 200);
        history.faults.add(new History.Fault("kill -9 f0", List.of(0), 150, 900)); // another node: no excuse
        History.Request cut = errored(history, 2, 300, 400);
        cut.outcome = History.Outcome.CUT_OFF;
        History.Request never = request(history, 0, 500);

        List<String> violations = new Checker().check(history, REFERENCES, i -> null).violations;

        assertThat(violations).hasSize(3);
        assertThat(violations.get(0)).startsWith("lost while its node kept the majority: #1");
        assertThat(violations.get(1)).startsWith("lost while its node kept the majority: #2");
        assertThat(violations.get(2)).startsWith("never ended: #" + never.number);
    }

    @Test
    void aGapARepeatAnotherContinuationOrASecondFinishIsReported() {
        History history = new History();
        completed(history, 0, " a b d"); // gap
        completed(history, 0, " a b b c d"); // repeat
        completed(history, 0, " a b x y"); // another continuation
        completed(history, 0, " a b c d").finishes = 2;
        History.Request cutShort = completed(history, 0, " a b c d");
        cutShort.finishReason = "stop";

        List<String> violations = new Checker().check(history, REFERENCES, i -> null).violations;

        assertThat(violations).hasSize(5);
        assertThat(violations.subList(0, 3)).allSatisfy(v -> assertThat(v).startsWith("output differs from the reference"));
        assertThat(violations.get(3)).startsWith("ended 2 times");
        assertThat(violations.get(4)).startsWith("finish_reason stop instead of length");
    }

    @Test
    void twoLeadersInOneTermAndAZombieLeaderAreReported() {
        History history = new History();
        history.leaderSeen(3, "f0", true, "f0");
        history.leaderSeen(3, "f1", true, "f1");
        history.leaderSeen(4, "f2", true, "f2");
        history.leaderSeen(3, "f0", true, "f0"); // woke from a pause still claiming term 3

        List<String> violations = new Checker().check(history, REFERENCES, i -> null).violations;

        assertThat(violations).anySatisfy(v -> assertThat(v).startsWith("split brain: term 3 had leaders"));
        assertThat(violations).anySatisfy(v -> assertThat(v).startsWith("stale leader: f0 claimed to lead in term 3"));
    }

    @Test
    void aLostOrForkedSessionIsReported() {
        History history = new History();
        session(history, "lost", "turn 0");
        History.Session forked = session(history, "forked", "turn 0", "turn 1");
        History.Session missing = session(history, "missing", "turn 0", "turn 1");

        List<String> violations = new Checker().check(history, REFERENCES, i -> switch (i) {
            case 1 -> "{\"messages\":[{\"role\":\"user\",\"content\":\"turn 0\"},{\"role\":\"user\",\"content\":\"turn 1\"},"
                    + "{\"role\":\"assistant\",\"content\":\"x\"}]}";
            case 2 -> stored(missing.id, "turn 0");
            default -> null;
        }).violations;

        assertThat(violations).anySatisfy(v -> assertThat(v).isEqualTo("session lost lost with 1 acknowledged turns"));
        assertThat(violations).anySatisfy(v -> assertThat(v).startsWith("session " + forked.id + " forked"));
        assertThat(violations).anySatisfy(v -> assertThat(v).startsWith("session missing holds turns [turn 0]"));
    }

    private static History.Request request(History history, int node, long sentAt) {
        History.Request r = new History.Request(history.requests.size() + 1, "completion", node, KEY, sentAt);
        history.requests.add(r);
        return r;
    }

    private static History.Request completed(History history, int node, String text) {
        History.Request r = request(history, node, 10);
        r.text.append(text);
        r.outcome = History.Outcome.COMPLETED;
        r.finishes = 1;
        r.finishReason = "length";
        r.endedAt = 50;
        return r;
    }

    private static History.Request errored(History history, int node, long sentAt, long endedAt) {
        History.Request r = request(history, node, sentAt);
        r.outcome = History.Outcome.ERROR;
        r.error = "HTTP 500";
        r.endedAt = endedAt;
        return r;
    }

    private static History.Session session(History history, String id, String... acknowledged) {
        History.Session s = new History.Session(id, 0);
        s.acknowledged.addAll(List.of(acknowledged));
        history.sessions.add(s);
        return s;
    }

    /** A session as GET /v1/sessions/{id} returns it: each user turn answered. */
    private static String stored(String id, String... turns) {
        StringBuilder messages = new StringBuilder();
        for (String turn : turns) {
            messages.append(messages.length() == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"").append(turn)
                    .append("\"},{\"role\":\"assistant\",\"content\":\"ok\"}");
        }
        return "{\"id\":\"" + id + "\",\"messages\":[" + messages + "]}";
    }
}
