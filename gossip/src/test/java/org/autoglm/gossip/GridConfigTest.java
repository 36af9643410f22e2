package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import org.autoglm.gossip.grid.GridConfig;
import org.autoglm.gossip.grid.GridNode;
import org.junit.jupiter.api.Test;

class GridConfigTest {

    @Test
    void peersAreHostPortOrPortRanges() {
        assertThat(GridConfig.parsePeers(" 10.0.0.5:47500, 127.0.0.1:47500..47502 ,"))
                .containsExactly("10.0.0.5:47500", "127.0.0.1:47500..47502");
        assertThat(GridConfig.parsePeers("")).isEmpty();
        assertThatThrownBy(() -> GridConfig.parsePeers("10.0.0.5"))
                .hasMessageContaining("'10.0.0.5' is not host:port");
        assertThatThrownBy(() -> GridConfig.parsePeers("host:47500-47502")).hasMessageContaining("host:port..port");
    }

    @Test
    void durationsTakeAUnitOrMeanMilliseconds() {
        assertThat(GridConfig.parseDuration("--x", "250ms")).isEqualTo(java.time.Duration.ofMillis(250));
        assertThat(GridConfig.parseDuration("--x", "1.5s")).isEqualTo(java.time.Duration.ofMillis(1500));
        assertThat(GridConfig.parseDuration("--x", "2m")).isEqualTo(java.time.Duration.ofMinutes(2));
        assertThat(GridConfig.parseDuration("--x", "40")).isEqualTo(java.time.Duration.ofMillis(40));
        assertThatThrownBy(() -> GridConfig.parseDuration("--dead-after", "-1s")).hasMessageContaining("--dead-after")
                .hasMessageContaining("not a duration");
        assertThatThrownBy(() -> GridConfig.parseDuration("--dead-after", "2d")).hasMessageContaining("not a duration");
        assertThatThrownBy(() -> GridConfig.parseDuration("--dead-after", "100000m")).hasMessageContaining("longer than a day");
    }

    @Test
    void badSettingsAreRefusedWithTheOptionNamed() {
        assertThatThrownBy(() -> GridNode.start(c -> c.expectedNodes = 0)).hasMessageContaining("--expected-nodes");
        assertThatThrownBy(() -> GridNode.start(c -> c.gridPort = 65000)).hasMessageContaining("--grid-port");
        assertThatThrownBy(() -> GridNode.start(c -> c.nodeName = " ")).hasMessageContaining("--node-name");
    }

    /** Issue 15: a lone node that moved past a taken port was still called node-47500, after the port it lacked. */
    @Test
    void aLoneNodeOnATakenPortIsNamedAfterThePortItBinds() throws Exception {
        int port = 14000 + Integer.getInteger("autoglm.test.portOffset", 0);
        try (ServerSocket taken = new ServerSocket(port, 1, InetAddress.getLoopbackAddress());
             GridNode node = GridNode.start(c -> {
                 c.nodeName = null;
                 c.gridPort = port;
             })) {
            assertThat(node.config().gridPort).isGreaterThan(port);
            assertThat(node.name()).isEqualTo("node-" + node.config().gridPort);
        }
    }

    @Test
    void aClusterNodeOnATakenPortFailsNamingTheFlag() throws Exception {
        int port = 14002 + Integer.getInteger("autoglm.test.portOffset", 0);
        try (ServerSocket taken = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertThatThrownBy(() -> GridNode.start(c -> {
                c.gridPort = port;
                c.peers = List.of("127.0.0.1:" + port + ".." + (port + 1));
            })).hasMessageContaining("--grid-port " + port).hasMessageContaining("is taken");
        }
    }

    @Test
    void aGridBeyondLoopbackWithoutTls_isRefusedUnlessInsecure() {
        assertThatThrownBy(() -> GridNode.start(c -> c.host = "0.0.0.0")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("without TLS").hasMessageContaining("--grid-tls-keystore")
                .hasMessageContaining("--insecure");
        assertThatThrownBy(() -> GridNode.start(c -> c.host = "192.0.2.7")).hasMessageContaining("--insecure");
    }

    @Test
    void gridMemoryFlagsAreChecked() {
        assertThatThrownBy(() -> GridNode.start(c -> c.dataRegionBytes = 1L << 20)).hasMessageContaining("--grid-memory");
        assertThatThrownBy(() -> GridNode.start(c -> c.storageHighWater = 1.0))
                .hasMessageContaining("--grid-memory-high-water");
    }

    @Test
    void quorumIsAStrictMajority() {
        GridConfig config = new GridConfig();
        config.expectedNodes = 3;
        assertThat(config.quorum()).isEqualTo(2);
        config.expectedNodes = 4;
        assertThat(config.quorum()).isEqualTo(3);
        config.expectedNodes = 1;
        assertThat(config.quorum()).isEqualTo(1);
    }
}
