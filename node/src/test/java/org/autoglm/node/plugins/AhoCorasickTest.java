package org.autoglm.node.plugins;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class AhoCorasickTest {

    private final AhoCorasick words = new AhoCorasick(List.of("敏感词", "he", "she", "hers", "Secret"));

    @Test
    void findsAnyWordIgnoringCase() {
        assertThat(words.matches("ushers")).isTrue();
        assertThat(words.matches("a SECRET plan")).isTrue();
        assertThat(words.matches("这是敏感词吗")).isTrue();
        assertThat(words.matches("这是敏感吗")).isFalse();
        assertThat(words.matches("nothing to see")).isFalse();
    }

    @Test
    void masksEveryOverlappingOccurrence() {
        assertThat(words.mask("ushers")).isEqualTo("u*****");
        assertThat(words.mask("这是敏感词吗")).isEqualTo("这是***吗");
        assertThat(words.mask("my secret, your SeCrEt")).isEqualTo("my ******, your ******");
    }

    @Test
    void streamMatchesAcrossChunksAndHoldsBackOnlyPossiblePrefixes() throws Exception {
        AhoCorasick.Stream s = words.new Stream(true);
        StringBuilder out = new StringBuilder();
        String first = s.accept("这是敏");
        assertThat(first).isEqualTo("这是"); // "敏" may start a word: held back
        out.append(first);
        out.append(s.accept("感"));
        String third = s.accept("词吗");
        out.append(third).append(s.flush());
        assertThat(out.toString()).isEqualTo("这是***吗");
        assertThat(first + third).doesNotContain("敏").doesNotContain("感");
    }

    @Test
    void streamReleasesAHeldPrefixThatDidNotBecomeAWord() throws Exception {
        AhoCorasick.Stream s = words.new Stream(true);
        assertThat(s.accept("sec")).isEqualTo("");
        assertThat(s.accept("ond")).isEqualTo("second");
        assertThat(s.accept("敏")).isEqualTo("");
        assertThat(s.flush()).isEqualTo("敏");
    }

    @Test
    void rejectingStreamThrowsOnAWordSplitAcrossChunks() throws Exception {
        AhoCorasick.Stream s = words.new Stream(false);
        s.accept("top sec");
        assertThatThrownBy(() -> s.accept("ret")).isInstanceOf(ContentRejectedException.class);
    }
}
