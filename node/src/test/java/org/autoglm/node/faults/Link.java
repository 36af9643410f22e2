package org.autoglm.node.faults;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Everything node A opens to node B, through proxies the harness owns: A's discovery connections to B's grid port
 * and A's communication connections to B's communication port (grid port + 1000). A fault on the link acts on both,
 * so a partition cuts the grid's messages and transactions as well as its heartbeats.
 */
final class Link implements AutoCloseable {

    private final TcpProxy discovery;
    private final TcpProxy communication;

    Link(int gridPort) throws IOException {
        discovery = new TcpProxy(new InetSocketAddress("127.0.0.1", gridPort));
        communication = new TcpProxy(new InetSocketAddress("127.0.0.1", gridPort + 1000));
    }

    /** The {@code --grid-route} flags that send A's connections to B ({@code gridPort}) through this link. */
    List<String> routes(int gridPort) {
        return List.of("--grid-route", "127.0.0.1:" + gridPort + "=127.0.0.1:" + discovery.port(),
                "--grid-route", "127.0.0.1:" + (gridPort + 1000) + "=127.0.0.1:" + communication.port());
    }

    void cut() {
        discovery.cut();
        communication.cut();
    }

    /** Bytes from A to B on A's connections stop getting through (B's connections to A: see the reverse link). */
    void loseOutbound() {
        discovery.loseOutbound();
        communication.loseOutbound();
    }

    /** Bytes from B back to A on A's connections stop getting through. */
    void loseInbound() {
        discovery.loseInbound();
        communication.loseInbound();
    }

    void delay(int millis) {
        discovery.delay(millis);
        communication.delay(millis);
    }

    void heal() {
        discovery.heal();
        communication.heal();
    }

    @Override
    public void close() {
        discovery.close();
        communication.close();
    }
}
