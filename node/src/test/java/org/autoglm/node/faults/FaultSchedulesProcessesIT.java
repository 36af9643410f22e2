package org.autoglm.node.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.Test;

/**
 * Fault injection over three serve processes of the packaged jar, every link between two of them through the
 * harness's proxies. Every {@code mvn verify} runs the short form ({@link Schedule#shortForm()}): the leader
 * kill (30 non-streaming completions to the followers, kill -9 of the leader 2 s later), a kill of the node a stream is
 * attached to, a SIGSTOP past failure detection, one-way loss past failure detection and a minority partition past
 * failure detection. {@code -Dautoglm.faults=true} adds four random schedules of several faults; {@code bench}'s
 * FaultBench runs a hundred. Every property of the {@link Checker} must hold in each.
 */
class FaultSchedulesProcessesIT {

    /** Grid ports of this test's nodes (communication: + 1000), moved by the suite's port offset where it fits. */
    private static final int BASE = basePort(21400);

    @Test
    void noAcceptedRequestIsLostDuplicatedOrSplitAcrossLeaders() throws Exception {
        assumeTrue(System.getProperty("autoglm.node.jar") != null, "runs in the integration-test phase (mvn verify)");
        Path jar = Path.of(System.getProperty("autoglm.node.jar"));
        List<Schedule> schedules = new ArrayList<>(Schedule.shortForm());
        if (Boolean.getBoolean("autoglm.faults")) {
            for (long seed = 1; seed <= 4; seed++) {
                schedules.add(Schedule.random(seed, 15));
            }
        }
        List<String> violations = new ArrayList<>();
        try (FaultHarness harness = new FaultHarness(jar, ReferenceCases.fixturesDir().resolve("glm-tiny"),
                Path.of("target", "fault-schedules"), 3, BASE)) {
            harness.start();
            for (Schedule schedule : schedules) {
                FaultHarness.Result result = harness.run(schedule);
                System.out.println("fault schedule " + result);
                violations.addAll(result.violations().stream().map(v -> schedule + ": " + v).toList());
                assertThat(result.completed()).as("work got done in " + schedule).isGreaterThan(0);
            }
        }
        assertThat(violations).as("violations (node logs in target/fault-schedules)").isEmpty();
    }

    private static int basePort(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 + 10 <= 65535 ? moved : port;
    }
}
