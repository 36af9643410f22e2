package org.autoglm.node.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShareGptMixTest {

    private static final ShareGptMix.Settings SHAREGPT = new ShareGptMix.Settings(7, 1.0, 100_000, 100_000, 0.3, 1000);

    @Test
    void lengthsFollowTheLogNormalFitsAndTheSeedFixesTheMix() {
        List<ShareGptMix.Request> mix = ShareGptMix.requests(SHAREGPT, 20_000);
        double[] input = mix.stream().filter(r -> r.prefix() < 0).mapToDouble(r -> r.prompt().length).sorted()
                .toArray();
        double[] output = mix.stream().mapToDouble(ShareGptMix.Request::maxTokens).sorted().toArray();
        // medians exp(mu); means exp(mu + sigma^2 / 2) (prompts without a prefix: prefixed ones are at least as long)
        assertThat(output[output.length / 2]).isBetween(180.0, 200.0);
        assertThat(Arrays.stream(output).average().orElseThrow()).isBetween(265.0, 305.0);
        assertThat(input[input.length / 2]).isBetween(110.0, 135.0);
        long prefixed = mix.stream().filter(r -> r.prefix() >= 0).count();
        assertThat(prefixed / 20_000.0).isBetween(0.28, 0.32);
        List<ShareGptMix.Request> again = ShareGptMix.requests(SHAREGPT, 20_000);
        for (int i = 0; i < 100; i++) assertThat(again.get(i).prompt()).isEqualTo(mix.get(i).prompt());
    }

    @Test
    void requestsWithTheSamePrefixShareItsTokensAndLengthsStayInBounds() {
        ShareGptMix.Settings small = new ShareGptMix.Settings(3, 0.5, 64, 16, 0.5, 500);
        List<ShareGptMix.Request> mix = ShareGptMix.requests(small, 400);
        int[][] heads = new int[ShareGptMix.PREFIXES][];
        for (ShareGptMix.Request r : mix) {
            assertThat(r.prompt().length).isBetween(2, 64);
            assertThat(r.maxTokens()).isBetween(1, 16);
            assertThat(Arrays.stream(r.prompt()).allMatch(t -> t >= 0 && t < 500)).isTrue();
            if (r.prefix() < 0) continue;
            int[] head = Arrays.copyOf(r.prompt(), 16);   // prefixes here: 16, 32, 63 and 63 tokens
            if (heads[r.prefix()] == null) heads[r.prefix()] = head;
            assertThat(head).isEqualTo(heads[r.prefix()]);
        }
        for (int[] head : heads) assertThat(head).isNotNull();
    }

    @Test
    void badSettingsNameTheirFlag() {
        assertThatThrownBy(() -> new ShareGptMix.Settings(1, 0, 10, 10, 0.3, 100)).hasMessageContaining("--length-scale");
        assertThatThrownBy(() -> new ShareGptMix.Settings(1, 1, 10, 10, 1.5, 100))
                .hasMessageContaining("--shared-prefix-share");
    }
}
