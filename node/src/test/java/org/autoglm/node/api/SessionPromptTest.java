package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.autoglm.node.session.Message;
import org.autoglm.node.session.Session;
import org.junit.jupiter.api.Test;

class SessionPromptTest {

    final CharModel model = new CharModel("m", 200);

    Session withHistory(int turns, int chars) {
        List<Message> history = new ArrayList<>();
        for (int i = 0; i < turns; i++) {
            history.add(new Message("user", "q" + i + "-" + "x".repeat(chars)));
            history.add(new Message("assistant", "a" + i + "-" + "y".repeat(chars)));
        }
        Session s = Session.create("s", "o", "SYSTEM", Duration.ofMinutes(5), Instant.now());
        return s.withTurn(List.of(), history, 0, Instant.now());
    }

    @Test
    void keepsEverythingThatFits() {
        Session s = withHistory(2, 5);
        SessionPrompt p = SessionPrompt.build(s, List.of(new Message("user", "now")), 10, model);
        assertThat(p.keptHistory()).hasSize(4);
        List<Message> all = new ArrayList<>(s.context());
        all.add(new Message("user", "now"));
        assertThat(p.promptIds()).isEqualTo(model.encodeChat(all));
    }

    @Test
    void dropsOldestTurnsFirstAndKeepsTheSystemPrompt() {
        Session s = withHistory(6, 20); // each turn ~60 chars: 6 turns cannot fit in 200 with 50 to generate
        SessionPrompt p = SessionPrompt.build(s, List.of(new Message("user", "now")), 50, model);
        assertThat(p.promptIds().length + 50).isLessThanOrEqualTo(200);
        assertThat(p.keptHistory()).isNotEmpty();
        assertThat(p.keptHistory().get(0).role()).isEqualTo("user");
        assertThat(p.keptHistory().get(p.keptHistory().size() - 1).content()).startsWith("a5-"); // newest kept
        assertThat(p.keptHistory().get(0).content()).doesNotStartWith("q0-");
        String prompt = new String(p.promptIds(), 0, p.promptIds().length);
        assertThat(prompt).startsWith("<system>SYSTEM");
    }

    @Test
    void aTurnThatCannotFitEvenAloneIsA400() {
        Session s = withHistory(1, 5);
        assertThatThrownBy(() -> SessionPrompt.build(s, List.of(new Message("user", "z".repeat(300))), 10, model))
                .isInstanceOf(ApiError.class).hasMessageContaining("context of 200");
    }
}
