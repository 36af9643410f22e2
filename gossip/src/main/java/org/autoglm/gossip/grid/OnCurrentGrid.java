package org.autoglm.gossip.grid;

import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Something made from this process's current grid node (its cache handles, say), made again on first use after the
 * grid node changed: a node the cluster segmented rejoins on a fresh grid node, and handles of the stopped one fail.
 */
public final class OnCurrentGrid<T> {

    private record Made<T>(GridNode grid, T value) {}

    private final Supplier<GridNode> grid;
    private final Function<GridNode, T> make;
    private volatile Made<T> made;

    /** @param grid asked on every use: the grid node this process is in now */
    public OnCurrentGrid(Supplier<GridNode> grid, Function<GridNode, T> make) {
        this.grid = grid;
        this.make = make;
    }

    public T get() {
        GridNode now = grid.get();
        Made<T> m = made;
        if (m == null || m.grid() != now) {
            m = new Made<>(now, make.apply(now)); // two threads may both make it: the makers are idempotent
            made = m;
        }
        return m.value();
    }
}
