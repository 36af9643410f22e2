package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.autoglm.gossip.TaggedMembers.request;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The placement timeout is about no node taking a request, not about attempts that were placed and then lost:
 * those count against maxAttempts, and each time a request comes back to the queue it waits for placement afresh.
 */
class PlacementTimeoutTest {

    private static final int BASE = 27800 + Integer.getInteger("autoglm.test.portOffset", 0);

    @Test
    void attemptsThatOutlastThePlacementTimeoutEndWithTheAttemptsError() {
        // Only n2 is "big", and it never starts what it is given: each attempt is taken back after claimTimeout (1 s)
        // and waits 300, 600, then 1200 ms before it is placed again. The last wait starts more than the placement
        // timeout (3 s) after the first one, and sweeps (every 250 ms) see the request waiting in it.
        TaggedMembers cluster = TaggedMembers.start(BASE, config -> {
            config.failover.placementTimeout = Duration.ofSeconds(3);
            config.failover.initialBackoff = Duration.ofMillis(300);
            config.failover.maxAttempts = 4;
        });
        try {
            List<Cluster> members = cluster.members();
            members.get(2).worker().close();
            RecordingListener client = new RecordingListener();
            members.get(0).dispatcher().submit(request(members.get(0), 3, null, List.of("big")), client);
            await().atMost(Duration.ofSeconds(30)).until(client::ended);
            assertThat(client.error).contains("failed after 4 attempts").contains("did not start it");
        } finally {
            cluster.members().forEach(Cluster::close);
        }
    }
}
