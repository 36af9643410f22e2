package org.autoglm.gossip;

import static org.autoglm.gossip.TaggedMembers.request;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi;
import org.junit.jupiter.api.Test;

class LeaderKillExperiment {
    @Test
    void rounds() throws Exception {
        int rounds = Integer.getInteger("rounds", 6);
        int failures = 0;
        for (int round = 0; round < rounds; round++) {
            int base = 14140 + 3 * round;
            TaggedMembers t = TaggedMembers.start(base);
            List<Cluster> members = t.members();
            int leader = 0;
            for (int i = 0; i < 3; i++) if (members.get(i).lease().isLeader()) leader = i;
            List<RecordingListener> clients = new ArrayList<>();
            for (int k = 0; k < 30; k++) {
                int f = (leader + 1 + k % 2) % 3;
                RecordingListener l = new RecordingListener();
                clients.add(l);
                members.get(f).dispatcher().submit(request(members.get(f), 40, null, List.of()), l);
            }
            Thread.sleep(round * 7 % 40);
            t.executors().get(leader).crash();
            ((TcpDiscoverySpi) members.get(leader).grid().ignite().configuration().getDiscoverySpi()).simulateNodeFailure();
            try {
                await().atMost(Duration.ofSeconds(40)).until(() -> clients.stream().allMatch(RecordingListener::ended));
            } catch (Exception e) {
                System.out.println("round " + round + ": not all ended");
            }
            long errors = clients.stream().filter(c -> c.error != null).count();
            clients.stream().filter(c -> c.error != null).forEach(c -> System.out.println("round error: " + c.error));
            System.out.println("ROUND " + round + " leader n" + leader + " errors " + errors);
            if (errors > 0) failures++;
            for (Cluster m : members) { try { m.close(); } catch (RuntimeException ignored) { } }
        }
        System.out.println("FAILED ROUNDS " + failures + " of " + rounds);
    }
}
