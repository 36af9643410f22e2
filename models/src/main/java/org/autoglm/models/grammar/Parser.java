package org.autoglm.models.grammar;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Moves parse states forward by one byte over a compiled grammar's rule automata: advance every stack's top, then
 * close over rule calls (push the callee) and rule ends (pop to the parent). Reusable scratch space; one per
 * thread.
 */
final class Parser {

    private final RuleDfa[] rules;
    private final List<Stack> out = new ArrayList<>();
    private final List<Stack> seenSmall = new ArrayList<>();
    private final Set<Stack> seenLarge = new HashSet<>();
    private boolean canEnd;
    private boolean reachedBottom;

    Parser(RuleDfa[] rules) {
        this.rules = rules;
    }

    /** The state at the start of rule {@code rule} with {@code below} underneath (null: the grammar's root). */
    ParseState start(int rule, Stack below) {
        begin();
        expand(new Stack(rule, rules[rule].start, below));
        return finish();
    }

    /** The state that {@code stack} stands for once closed (used to resume after a rule ends). */
    ParseState closeOver(Stack stack) {
        begin();
        expand(stack);
        return finish();
    }

    /** The state after byte {@code b}, or {@link ParseState#DEAD}. */
    ParseState advance(ParseState from, int b) {
        begin();
        for (Stack s : from.stacks) {
            int next = rules[s.rule].next(s.state, b);
            if (next >= 0) {
                expand(new Stack(s.rule, next, s.parent));
            }
        }
        if (out.isEmpty() && !canEnd && !reachedBottom) {
            return ParseState.DEAD;
        }
        return finish();
    }

    /** Advances over all of {@code bytes}; DEAD when one is not allowed. */
    ParseState advance(ParseState from, byte[] bytes) {
        ParseState s = from;
        for (byte b : bytes) {
            s = advance(s, b & 0xFF);
            if (s == ParseState.DEAD) {
                return s;
            }
        }
        return s;
    }

    private void begin() {
        out.clear();
        seenSmall.clear();
        seenLarge.clear();
        canEnd = false;
        reachedBottom = false;
    }

    private ParseState finish() {
        return new ParseState(out.toArray(new Stack[0]), canEnd, reachedBottom);
    }

    private boolean firstVisit(Stack s) {
        if (seenLarge.isEmpty()) {
            for (Stack t : seenSmall) {
                if (t.equals(s)) {
                    return false;
                }
            }
            if (seenSmall.size() < 16) {
                seenSmall.add(s);
                return true;
            }
            seenLarge.addAll(seenSmall);
        }
        return seenLarge.add(s);
    }

    private void expand(Stack s) {
        if (!firstVisit(s)) {
            return;
        }
        RuleDfa dfa = rules[s.rule];
        if (dfa.hasBytes(s.state)) {
            out.add(s);
        }
        if (dfa.accepting[s.state]) {
            if (s.parent == null) {
                canEnd = true;
            } else if (s.parent == Stack.BOTTOM) {
                reachedBottom = true;
            } else {
                expand(s.parent);
            }
        }
        for (int k = dfa.callOffset[s.state], end = dfa.callOffset[s.state + 1]; k < end; k++) {
            int callee = dfa.callRule[k];
            expand(new Stack(callee, rules[callee].start, new Stack(s.rule, dfa.callTarget[k], s.parent)));
        }
    }
}
