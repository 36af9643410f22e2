package org.autoglm.models.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.autoglm.models.tokenizer.ReferenceFixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The stop rules over real token streams from the glm4-tiny tokenizer. */
class StopCheckerTest {

    private static GlmTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = GlmTokenizer.load(ReferenceFixtures.checkpoint("glm4-tiny"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void stopsAtTheFirstEndOfSequenceIdWithoutItsText() {
        int[] ids = concat(tokenizer.encode("abc"), new int[] {tokenizer.tokenId("<|user|>").orElseThrow()},
                tokenizer.encode("never"));
        Outcome outcome = run(params(100, List.of(), false), ids);
        assertThat(outcome.text).isEqualTo("abc");
        assertThat(outcome.reason).isEqualTo(StopChecker.Reason.EOS_TOKEN);
        assertThat(outcome.reason.finishReason()).isEqualTo("stop");
        assertThat(outcome.accepted).isEqualTo(tokenizer.encode("abc").length + 1);
    }

    @Test
    void ignoreEosRunsToMaxTokens() {
        int endOfText = tokenizer.tokenId("<|endoftext|>").orElseThrow();
        int[] ids = concat(tokenizer.encode("ab"), new int[] {endOfText}, tokenizer.encode("cd"));
        Outcome outcome = run(params(ids.length, List.of(), true), ids);
        assertThat(outcome.reason).isEqualTo(StopChecker.Reason.MAX_TOKENS);
        assertThat(outcome.reason.finishReason()).isEqualTo("length");
        assertThat(outcome.text).isEqualTo("abcd");
        assertThat(outcome.accepted).isEqualTo(ids.length);
    }

    @Test
    void maxTokensInsideACharacterReleasesWhatTheFullDecodeShows() {
        int[] ids = tokenizer.encode("你好，请介绍一下集群控制中心。");
        for (int max = 1; max <= 6; max++) {
            Outcome outcome = run(params(max, List.of(), false), ids);
            assertThat(outcome.reason).isEqualTo(StopChecker.Reason.MAX_TOKENS);
            assertThat(outcome.text).isEqualTo(tokenizer.decode(IntStream.of(ids).limit(max).toArray(), true));
        }
    }

    @Test
    void stopStringsSplitAcrossTokensEndTheSequenceAndNeverReachTheOutput() {
        String text = "你好，请介绍一下集群控制中心。Thanks!";
        int[] ids = tokenizer.encode(text);
        for (String stop : List.of("集群控制", "。", "nks", "!")) {
            Outcome outcome = run(params(100, List.of("zzz", stop), false), ids);
            assertThat(outcome.reason).as(stop).isEqualTo(StopChecker.Reason.STOP_STRING);
            assertThat(outcome.matchedStop).isEqualTo(stop);
            assertThat(outcome.text).as(stop).isEqualTo(text.substring(0, text.indexOf(stop)));
            assertThat(outcome.chunks).as(stop).noneMatch(chunk -> chunk.contains(stop));
        }
    }

    @Test
    void aStopStringCompletedByTheLastTokenStillCounts() {
        int[] ids = tokenizer.encode("see you. Bye");
        Outcome outcome = run(params(ids.length, List.of("Bye"), false), ids);
        assertThat(outcome.reason).isEqualTo(StopChecker.Reason.STOP_STRING);
        assertThat(outcome.text).isEqualTo("see you. ");
    }

    @Test
    void heldBackTextIsReleasedWhenTheSequenceEndsOtherwise() {
        int[] ids = tokenizer.encode("total: 5 <|");
        Outcome outcome = run(params(ids.length, List.of("<|user|>"), false), ids);
        assertThat(outcome.reason).isEqualTo(StopChecker.Reason.MAX_TOKENS);
        assertThat(outcome.text).isEqualTo("total: 5 <|");
    }

    @Test
    void finishedSequencesRefuseMoreTokens() {
        StopChecker checker = new StopChecker(params(1, List.of(), false), tokenizer.eosTokenIds(),
                tokenizer.newDetokenizer());
        assertThat(checker.accept(87).finished()).isTrue();
        assertThatThrownBy(() -> checker.accept(87)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new StopChecker(params(0, List.of(), false), new int[0], tokenizer.newDetokenizer()))
                .hasMessageContaining("max_tokens");
    }

    private record Outcome(String text, List<String> chunks, StopChecker.Reason reason, String matchedStop, int accepted) {}

    private static Outcome run(SamplingParams params, int[] ids) {
        StopChecker checker = new StopChecker(params, tokenizer.eosTokenIds(), tokenizer.newDetokenizer());
        List<String> chunks = new ArrayList<>();
        for (int id : ids) {
            StopChecker.Step step = checker.accept(id);
            chunks.add(step.text());
            if (step.finished()) {
                return new Outcome(String.join("", chunks), chunks, step.reason(), step.matchedStop(),
                        checker.generatedTokens());
            }
        }
        StopChecker.Step last = checker.finish(StopChecker.Reason.MAX_TOKENS);
        chunks.add(last.text());
        return new Outcome(String.join("", chunks), chunks, last.reason(), last.matchedStop(), checker.generatedTokens());
    }

    private static SamplingParams params(int maxTokens, List<String> stop, boolean ignoreEos) {
        return new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, maxTokens, stop, ignoreEos, -1);
    }

    private static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(IntStream::of).toArray();
    }
}
