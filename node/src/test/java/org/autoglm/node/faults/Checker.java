package org.autoglm.node.faults;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * The properties a run must keep, checked on its {@link History}:
 * <ol>
 *   <li>every accepted request completes with its full output or gets an explicit error, and an error (or a broken
 *       connection) only from a node that was cut off from the majority meanwhile;</li>
 *   <li>no output has a gap, a repeated token or another continuation: each equals the greedy reference answer;</li>
 *   <li>no two leaders under the same term;</li>
 *   <li>sessions are never lost and never forked: each holds exactly its acknowledged turns, in order;</li>
 *   <li>after the faults heal the cluster converges (one leader, every node healthy) within 10 s (checked by the
 *       harness, which records a violation here).</li>
 * </ol>
 */
final class Checker {

    /** How a violation counts in the long run's figures. */
    enum Kind { LOST, DUPLICATED, SPLIT_BRAIN, NOT_CONVERGED, OTHER }

    /** The start of the violation a schedule gets when its cluster does not come back whole. */
    static final String NOT_CONVERGED = "the cluster did not converge: ";

    final List<String> violations = new ArrayList<>();

    /** Which figure a violation of this checker (or the harness) counts in. */
    static Kind kind(String violation) {
        if (violation.startsWith("never ended") || violation.startsWith("lost while")
                || violation.matches("session \\S+ lost .*")) {
            return Kind.LOST;
        }
        if (violation.startsWith("ended ") || violation.startsWith("output differs")
                || violation.matches("session \\S+ (forked|holds turns).*")) {
            return Kind.DUPLICATED;
        }
        if (violation.startsWith("split brain") || violation.startsWith("stale leader")) {
            return Kind.SPLIT_BRAIN;
        }
        return violation.startsWith(NOT_CONVERGED) || violation.startsWith("converged ") ? Kind.NOT_CONVERGED
                : Kind.OTHER;
    }

    Checker check(History history, Map<String, String> references, IntFunction<String> sessionReader) {
        for (History.Request r : history.requests) {
            request(history, references, r);
        }
        for (Map.Entry<Long, Set<String>> term : history.leadersByTerm.entrySet()) {
            if (term.getValue().size() > 1) {
                violations.add("split brain: term " + term.getKey() + " had leaders " + term.getValue());
            }
        }
        history.staleClaims.forEach(claim -> violations.add("stale leader: " + claim));
        for (int i = 0; i < history.sessions.size(); i++) {
            session(history.sessions.get(i), sessionReader.apply(i));
        }
        return this;
    }

    private void request(History history, Map<String, String> references, History.Request r) {
        if (r.outcome == null) {
            violations.add("never ended: " + r);
            return;
        }
        boolean excused = history.cutOffDuring(r.node, r.sentAt, r.endedAt);
        switch (r.outcome) {
            case REFUSED -> { } // never accepted
            case CUT_OFF, ERROR -> {
                if (!excused) {
                    violations.add("lost while its node kept the majority: " + r);
                }
            }
            case COMPLETED -> {
                if (r.finishes != 1) {
                    violations.add("ended " + r.finishes + " times: " + r);
                }
                if (r.referenceKey != null) {
                    String expected = references.get(r.referenceKey);
                    if (!r.text.toString().equals(expected)) {
                        violations.add("output differs from the reference (gap, repeat or fork): " + r + "\n  got      '"
                                + r.text + "'\n  expected '" + expected + "'");
                    }
                    if (!"length".equals(r.finishReason)) {
                        violations.add("finish_reason " + r.finishReason + " instead of length: " + r);
                    }
                }
            }
        }
    }

    /** {@code stored} is the session as GET /v1/sessions/{id} returns it, or null when no node has it. */
    private void session(History.Session s, String stored) {
        if (stored == null) {
            if (!s.acknowledged.isEmpty()) {
                violations.add("session " + s.id + " lost with " + s.acknowledged.size() + " acknowledged turns");
            }
            return;
        }
        try {
            JsonNode messages = Workload.JSON.readTree(stored).path("messages");
            List<String> users = new ArrayList<>();
            String lastRole = "assistant";
            for (JsonNode m : messages) {
                String role = m.path("role").asText();
                if (role.equals("user")) {
                    users.add(m.path("content").asText());
                    if (!lastRole.equals("assistant")) {
                        violations.add("session " + s.id + " forked: two user turns in a row " + users);
                    }
                } else if (role.equals("assistant") && !lastRole.equals("user")) {
                    violations.add("session " + s.id + " forked: two answers to one turn");
                }
                lastRole = role;
            }
            List<String> withLate = new ArrayList<>(s.acknowledged);
            if (s.unacknowledged != null) {
                withLate.add(s.unacknowledged);
            }
            if (!users.equals(s.acknowledged) && !users.equals(withLate)) {
                violations.add("session " + s.id + " holds turns " + users + ", acknowledged " + s.acknowledged);
            }
        } catch (Exception e) {
            violations.add("session " + s.id + " unreadable: " + e.getMessage());
        }
    }
}
