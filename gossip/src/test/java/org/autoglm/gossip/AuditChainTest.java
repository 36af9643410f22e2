package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.autoglm.gossip.control.AuditChain;
import org.autoglm.gossip.control.AuditEntry;
import org.autoglm.gossip.grid.GridNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The audit chain on two grid nodes: one chain from both writers, and tampering found at the entry it touched. */
class AuditChainTest {

    private static final int BASE = 28730 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static List<GridNode> grid;

    @BeforeAll
    static void start() {
        grid = TestGrid.start(BASE, 2, i -> GridNode.start(TestGrid.config("n" + i, BASE + i, BASE, 2)));
    }

    @AfterAll
    static void stop() {
        grid.forEach(GridNode::close);
    }

    @Test
    void entriesFromEveryNodeFormOneChainAndAChangedEntryIsNamed() {
        AuditChain a = new AuditChain(() -> grid.get(0));
        AuditChain b = new AuditChain(() -> grid.get(1));
        for (int i = 0; i < 5; i++) {
            a.append("olga", "drain", "n1", "status 200");
            b.append("root", "command undrain", "n0,n1", "{\"op\":\"undrain\"}");
        }
        List<AuditEntry> entries = b.read(0, 100);
        assertThat(entries).hasSize(10);
        assertThat(entries).extracting(AuditEntry::node).contains("n0", "n1");
        for (int i = 1; i < entries.size(); i++) {
            assertThat(entries.get(i).prevHash()).isEqualTo(entries.get(i - 1).hash());
        }
        assertThat(a.verify().intact()).isTrue();

        AuditEntry third = entries.get(2);
        a.overwriteForTest(new AuditEntry(third.seq(), third.timeMillis(), third.node(), "mallory", third.action(),
                third.target(), third.detail(), third.prevHash(), third.hash(), third.signerKeyId(), third.signature()));
        AuditChain.Verdict broken = b.verify();
        assertThat(broken.intact()).isFalse();
        assertThat(broken.brokenSeq()).isEqualTo(3L);
        assertThat(broken.reason()).contains("changed");

        // Re-hashing the changed entry does not help: its signature no longer matches.
        String rehashed = AuditEntry.hashOf(third.prevHash(), third.seq(), third.timeMillis(), third.node(), "mallory",
                third.action(), third.target(), third.detail());
        a.overwriteForTest(new AuditEntry(third.seq(), third.timeMillis(), third.node(), "mallory", third.action(),
                third.target(), third.detail(), third.prevHash(), rehashed, third.signerKeyId(), third.signature()));
        assertThat(b.verify().brokenSeq()).isEqualTo(3L);
        assertThat(b.verify().reason()).contains("signature");
    }
}
