package org.autoglm.models.grammar;

import java.util.Arrays;

/**
 * Where a parse can be after some bytes: the stacks whose top can take a byte next, and whether the grammar may
 * end here. Immutable; a matcher keeps one per accepted token for rollback.
 */
final class ParseState {

    static final ParseState DEAD = new ParseState(new Stack[0], false, false);

    final Stack[] stacks;
    final boolean canEnd;
    /** In context-independent walks: the walked rule has ended here (the bottom was popped). */
    final boolean reachedBottom;

    ParseState(Stack[] stacks, boolean canEnd, boolean reachedBottom) {
        this.stacks = stacks;
        this.canEnd = canEnd;
        this.reachedBottom = reachedBottom;
    }

    boolean isDead() {
        return stacks.length == 0 && !canEnd && !reachedBottom;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParseState p && canEnd == p.canEnd && reachedBottom == p.reachedBottom
                && Arrays.equals(stacks, p.stacks);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(stacks) * 3 + (canEnd ? 1 : 0) + (reachedBottom ? 2 : 0);
    }
}
