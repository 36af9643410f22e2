package org.autoglm.models.grammar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a {@link Grammar} tree into rules, each an {@link Nfa} over bytes (Thompson's construction). Named rules
 * of a {@link Grammar.Rules} node become rules of their own, reached through call edges; everything else is
 * inlined into the rule that uses it.
 */
final class NfaBuilder {

    /** Name to rule id in one {@link Grammar.Rules} node, inside its enclosing scope. */
    private record Scope(Map<String, Integer> ids, Scope parent) {
        Integer resolve(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                Integer id = s.ids.get(name);
                if (id != null) {
                    return id;
                }
            }
            return null;
        }
    }

    final List<Grammar> bodies = new ArrayList<>();
    final List<String> names = new ArrayList<>();
    private final List<Scope> scopes = new ArrayList<>();
    /** Each Rules node is compiled once per enclosing scope. */
    private final Map<Scope, Map<Grammar.Rules, Scope>> compiledRules = new IdentityHashMap<>();
    private final Map<Grammar.Rules, Scope> topLevelRules = new HashMap<>();

    /** Registers the top-level grammar as rule 0. */
    NfaBuilder(Grammar root) {
        bodies.add(root);
        names.add("root");
        scopes.add(null);
    }

    int ruleCount() {
        return bodies.size();
    }

    Grammar body(int rule) {
        return bodies.get(rule);
    }

    Nfa buildRule(int rule) {
        Nfa nfa = new Nfa();
        nfa.start = nfa.newState();
        nfa.accept = add(nfa, bodies.get(rule), nfa.start, scopes.get(rule));
        return nfa;
    }

    /** Adds {@code g} starting at state {@code from}; returns the state where it ends. */
    int add(Nfa nfa, Grammar g, int from, Scope scope) {
        if (g instanceof Grammar.Literal lit) {
            int cur = from;
            for (byte b : lit.text().getBytes(StandardCharsets.UTF_8)) {
                int next = nfa.newState();
                nfa.bytes(cur, b & 0xFF, b & 0xFF, next);
                cur = next;
            }
            return cur;
        }
        if (g instanceof Grammar.CharClass cc) {
            int end = nfa.newState();
            List<int[]> seqs = new ArrayList<>();
            int[] r = cc.ranges();
            for (int i = 0; i < r.length; i += 2) {
                CharClasses.utf8Sequences(r[i], r[i + 1], seqs);
            }
            for (int[] seq : seqs) {
                int cur = from;
                for (int k = 0; k < seq.length; k += 2) {
                    int next = k + 2 == seq.length ? end : nfa.newState();
                    nfa.bytes(cur, seq[k], seq[k + 1], next);
                    cur = next;
                }
            }
            return end;
        }
        if (g instanceof Grammar.Sequence seq) {
            int cur = from;
            for (Grammar part : seq.parts()) {
                cur = add(nfa, part, cur, scope);
            }
            return cur;
        }
        if (g instanceof Grammar.Alternatives alt) {
            int end = nfa.newState();
            for (Grammar a : alt.alternatives()) {
                int s = nfa.newState();
                nfa.epsilon(from, s);
                nfa.epsilon(add(nfa, a, s, scope), end);
            }
            return end;
        }
        if (g instanceof Grammar.Repeat rep) {
            return addRepeat(nfa, rep, from, scope);
        }
        if (g instanceof Grammar.RuleRef ref) {
            Integer id = scope == null ? null : scope.resolve(ref.name());
            if (id == null) {
                throw new GrammarException("undefined rule '" + ref.name() + "'");
            }
            int end = nfa.newState();
            nfa.call(from, id, end);
            return end;
        }
        if (g instanceof Grammar.Rules rules) {
            Scope inner = scopeOf(rules, scope);
            Integer root = inner.ids.get(rules.root());
            if (root == null) {
                throw new GrammarException("rule set has no root rule '" + rules.root() + "'");
            }
            int end = nfa.newState();
            nfa.call(from, root, end);
            return end;
        }
        if (g instanceof Grammar.Difference d) {
            int end = nfa.newState();
            RegularCache.get(new RegularCache.Product(d.base(), d.excluded(), true), () -> RuleDfa.product(
                    regular(d.base(), scope), regular(d.excluded(), scope), true)).embedInto(nfa, from, end);
            return end;
        }
        if (g instanceof Grammar.Intersection i) {
            int end = nfa.newState();
            RegularCache.get(new RegularCache.Product(i.left(), i.right(), false), () -> RuleDfa.product(
                    regular(i.left(), scope), regular(i.right(), scope), false)).embedInto(nfa, from, end);
            return end;
        }
        if (g instanceof Grammar.OrderedMembers m) {
            return addMembers(nfa, m, from, scope);
        }
        if (g instanceof Grammar.Triggered t) {
            return add(nfa, triggeredAsTree(t), from, scope);
        }
        throw new IllegalStateException("unknown grammar node " + g);
    }

    private int addRepeat(Nfa nfa, Grammar.Repeat rep, int from, Scope scope) {
        int cur = from;
        for (int i = 0; i < rep.min(); i++) {
            cur = add(nfa, rep.item(), cur, scope);
        }
        if (rep.max() == Integer.MAX_VALUE) {
            int loop = nfa.newState();
            nfa.epsilon(cur, loop);
            nfa.epsilon(add(nfa, rep.item(), loop, scope), loop);
            return loop;
        }
        int end = nfa.newState();
        nfa.epsilon(cur, end);
        for (int i = rep.min(); i < rep.max(); i++) {
            cur = add(nfa, rep.item(), cur, scope);
            nfa.epsilon(cur, end);
        }
        return end;
    }

    /** States (i, e): before item i, e = whether an item was written already (so a separator comes first). */
    private int addMembers(Nfa nfa, Grammar.OrderedMembers m, int from, Scope scope) {
        int n = m.items().size();
        int[][] q = new int[2][n + 1];
        for (int i = 0; i <= n; i++) {
            q[0][i] = nfa.newState();
            q[1][i] = nfa.newState();
        }
        nfa.epsilon(from, q[0][0]);
        for (int i = 0; i < n; i++) {
            for (int e = 0; e < 2; e++) {
                if (!m.required().get(i)) {
                    nfa.epsilon(q[e][i], q[e][i + 1]);
                }
                int mid = e == 1 ? add(nfa, m.separator(), q[e][i], scope) : q[e][i];
                nfa.epsilon(add(nfa, m.items().get(i), mid, scope), q[1][i + 1]);
            }
        }
        if (m.extra() != null) {
            for (int e = 0; e < 2; e++) {
                int mid = e == 1 ? add(nfa, m.separator(), q[e][n], scope) : q[e][n];
                nfa.epsilon(add(nfa, m.extra(), mid, scope), q[1][n]);
            }
        }
        int end = nfa.newState();
        nfa.epsilon(q[0][n], end);
        nfa.epsilon(q[1][n], end);
        return end;
    }

    private static Grammar triggeredAsTree(Grammar.Triggered t) {
        List<Grammar> triggers = new ArrayList<>();
        List<Grammar> calls = new ArrayList<>();
        for (var e : t.grammarAfterTrigger().entrySet()) {
            triggers.add(new Grammar.Literal(e.getKey()));
            calls.add(new Grammar.Sequence(List.of(new Grammar.Literal(e.getKey()), e.getValue())));
        }
        Grammar any = Grammar.freeText();
        Grammar noTrigger = new Grammar.Difference(any,
                new Grammar.Sequence(List.of(any, new Grammar.Alternatives(triggers), any)));
        Grammar call = new Grammar.Alternatives(calls);
        return t.textAfter()
                ? new Grammar.Sequence(List.of(noTrigger, new Grammar.Repeat(
                        new Grammar.Sequence(List.of(call, noTrigger)), 0, Integer.MAX_VALUE)))
                : new Grammar.Sequence(List.of(noTrigger, new Grammar.Repeat(call, 0, 1)));
    }

    /** The deterministic automaton of a grammar that must not use rules. */
    RuleDfa regular(Grammar g, Scope scope) {
        return RegularCache.get(g, () -> buildRegular(g, scope));
    }

    private RuleDfa buildRegular(Grammar g, Scope scope) {
        Nfa sub = new Nfa();
        sub.start = sub.newState();
        sub.accept = add(sub, g, sub.start, scope);
        if (sub.callCount > 0) {
            throw new GrammarException("the operands of a difference or intersection must be regular"
                    + " (no rule references)");
        }
        return RuleDfa.determinize(sub).trim(r -> true);
    }

    private Scope scopeOf(Grammar.Rules rules, Scope outer) {
        Map<Grammar.Rules, Scope> seen = outer == null ? topLevelRules
                : compiledRules.computeIfAbsent(outer, k -> new HashMap<>());
        Scope existing = seen.get(rules);
        if (existing != null) {
            return existing;
        }
        Map<String, Integer> ids = new LinkedHashMap<>();
        Scope inner = new Scope(ids, outer);
        seen.put(rules, inner);
        for (var e : rules.rules().entrySet()) {
            ids.put(e.getKey(), bodies.size());
            bodies.add(e.getValue());
            names.add(e.getKey());
            scopes.add(inner);
        }
        return inner;
    }
}
