package org.autoglm.models.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopStringMatcherTest {

    @Test
    void aStopStringSplitAcrossDeltasMatchesAndNeverLeaks() {
        StopStringMatcher matcher = new StopStringMatcher(List.of("<|user|>"));
        assertThat(matcher.feed("Hello <").text()).isEqualTo("Hello ");
        assertThat(matcher.feed("|us").text()).isEmpty();
        StopStringMatcher.Match last = matcher.feed("er|> and more");
        assertThat(last.text()).isEmpty();
        assertThat(last.stop()).isEqualTo("<|user|>");
        assertThat(matcher.stopped()).isTrue();
        assertThat(matcher.feed("later").text()).isEmpty();
        assertThat(matcher.flush()).isEmpty();
    }

    @Test
    void heldTextIsReleasedOnceItCannotBeAStopString() {
        StopStringMatcher matcher = new StopStringMatcher(List.of("<|user|>"));
        assertThat(matcher.feed("a <|u").text()).isEqualTo("a ");
        assertThat(matcher.feed("x").text()).isEqualTo("<|ux");
        assertThat(matcher.feed("<").text()).isEmpty();
        assertThat(matcher.flush()).isEqualTo("<");
    }

    @Test
    void theEarliestStopStringWinsAndTextBeforeItIsKept() {
        StopStringMatcher matcher = new StopStringMatcher(List.of("cd", "bcd", ""));
        StopStringMatcher.Match match = matcher.feed("abcde");
        assertThat(match.text()).isEqualTo("a");
        assertThat(match.stop()).isEqualTo("bcd");
    }

    @Test
    void chineseStopStringsMatchAcrossDeltas() {
        StopStringMatcher matcher = new StopStringMatcher(List.of("集群控制"));
        StringBuilder out = new StringBuilder();
        String stop = null;
        for (String delta : List.of("你好，请介绍一下集", "群控", "制中心。")) {
            StopStringMatcher.Match match = matcher.feed(delta);
            out.append(match.text());
            stop = match.stop() != null ? match.stop() : stop;
        }
        assertThat(out).hasToString("你好，请介绍一下");
        assertThat(stop).isEqualTo("集群控制");
    }

    @Test
    void withoutStopStringsEverythingPassesAtOnce() {
        StopStringMatcher matcher = new StopStringMatcher(List.of());
        assertThat(matcher.feed("<|user|>").text()).isEqualTo("<|user|>");
        assertThat(matcher.flush()).isEmpty();
    }
}
