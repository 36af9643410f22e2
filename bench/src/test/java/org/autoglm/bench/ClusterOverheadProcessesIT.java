package org.autoglm.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 15: {@code ClusterOverhead} failed with "not reached within 120 s" on every run, because it waited for the
 * first node's {@code /ready} before starting the others, and a lone node of an {@code --expected-nodes 3} cluster is
 * never ready. Its start-up, on three real serve processes of the jar: all three become ready and the cluster healthy.
 */
class ClusterOverheadProcessesIT {

    private static final int GRID = 14010 + Integer.getInteger("autoglm.test.portOffset", 0);

    @Test
    void theThreeNodesStartTogetherAndFormTheCluster() throws Exception {
        Path jar = Path.of(System.getProperty("autoglm.node.jar"));
        assertThat(jar).as("the node jar (mvn package)").isRegularFile();
        Path model = Path.of(System.getProperty("autoglm.fixtures", "../fixtures")).resolve("glm-tiny");
        assertThat(Files.isDirectory(model)).isTrue();
        List<ServeNode> nodes = new ArrayList<>();
        try {
            // A generous failure detection: three JVMs loading at once on a busy build machine stall for seconds.
            ClusterOverhead.startCluster(jar, model, GRID, 15_000, nodes);
            assertThat(nodes).hasSize(ClusterOverhead.NODES)
                    .allSatisfy(n -> assertThat(n.status("/ready")).as(n.name).isEqualTo(200));
            assertThat(nodes.get(2).leaderName()).isIn("p0", "p1", "p2");
        } finally {
            nodes.forEach(ServeNode::stop);
        }
    }
}
