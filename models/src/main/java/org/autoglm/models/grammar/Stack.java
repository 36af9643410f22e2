package org.autoglm.models.grammar;

/**
 * One parse stack of the pushdown automaton, as a persistent linked list: the top is (rule, state) inside the rule
 * being matched; each parent holds the state its rule continues at when the child returns. Shared between
 * stacks and between steps, compared by structure.
 */
final class Stack {

    /** Stands for "whatever is below" in context-independent walks: popping it means the rule ended. */
    static final Stack BOTTOM = new Stack(-1, -1, null);

    final int rule;
    final int state;
    final Stack parent;
    final int hash;

    Stack(int rule, int state, Stack parent) {
        this.rule = rule;
        this.state = state;
        this.parent = parent;
        int h = rule * 0x9E3779B1 + state * 0x85EBCA6B;
        this.hash = parent == null ? h : h ^ (parent.hash * 31 + 0x27D4EB2F);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof Stack)) {
            return false;
        }
        Stack a = this;
        Stack b = (Stack) o;
        while (a != b) {
            if (a == null || b == null || a.hash != b.hash || a.rule != b.rule || a.state != b.state) {
                return false;
            }
            a = a.parent;
            b = b.parent;
        }
        return true;
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Stack s = this; s != null; s = s.parent) {
            sb.append(s == BOTTOM ? "_" : s.rule + ":" + s.state).append(s.parent != null ? " < " : "");
        }
        return sb.toString();
    }
}
