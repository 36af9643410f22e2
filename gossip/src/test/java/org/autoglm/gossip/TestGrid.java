package org.autoglm.gossip;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import org.autoglm.gossip.grid.GridConfig;

/** Starts several grid members of one test class on loopback, in parallel, with test timings. */
public final class TestGrid {

    private TestGrid() {}

    /**
     * Test timings: failures noticed in about a second and a half (a crashed leader's lease is free then), a silent
     * leader still in the grid deposed after twice that.
     */
    public static Consumer<GridConfig> config(String name, int port, int basePort, int size) {
        return config -> {
            config.nodeName = name;
            config.gridPort = port;
            config.peers = List.of("127.0.0.1:" + basePort + ".." + (basePort + size - 1));
            config.expectedNodes = size;
            config.failureDetection = Duration.ofMillis(1500);
            config.health.heartbeatInterval = Duration.ofMillis(200);
            config.health.suspectAfter = Duration.ofMillis(800);
            config.health.deadAfter = Duration.ofMillis(2000);
            config.lease.renewInterval = Duration.ofMillis(200);
            config.failover.initialBackoff = Duration.ofMillis(50);
            config.failover.sweepInterval = Duration.ofMillis(250);
            config.failover.placementTimeout = Duration.ofSeconds(5);
            config.failover.claimTimeout = Duration.ofSeconds(1);
            config.rejoin = false; // a member a test crashes stays dead
        };
    }

    /**
     * {@code port} moved by the suite's port offset ({@code -Dautoglm.test.portOffset}) where {@code size} grid ports
     * and their communication ports (+1000) still fit, else {@code port} itself.
     */
    public static int offsetPort(int port, int size) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + size + 1000 <= 65535 ? moved : port;
    }

    /** Starts {@code size} members named n0, n1, ... on ports basePort + i, all at once. */
    public static <T> List<T> start(int basePort, int size, Function<Integer, T> starter) {
        List<CompletableFuture<T>> futures = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            int index = i;
            futures.add(CompletableFuture.supplyAsync(() -> starter.apply(index)));
        }
        return futures.stream().map(CompletableFuture::join).toList();
    }
}
