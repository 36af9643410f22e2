package org.autoglm.models.grammar;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Automata of regular grammars (no rule references) by grammar tree, shared by every compilation in the process:
 * JSON strings, numbers, formats, patterns and key exclusions recur across schemas, and building them is most of a
 * compile. Bounded, least recently used first out.
 */
final class RegularCache {

    private static final int ENTRIES = 4096;

    private static final Map<Object, RuleDfa> CACHE = Collections.synchronizedMap(
            new LinkedHashMap<>(256, 0.75f, true) {
                @Override protected boolean removeEldestEntry(Map.Entry<Object, RuleDfa> eldest) {
                    return size() > ENTRIES;
                }
            });

    private RegularCache() { }

    static RuleDfa get(Object key, Supplier<RuleDfa> build) {
        RuleDfa dfa = CACHE.get(key);
        if (dfa == null) {
            dfa = build.get();
            CACHE.put(key, dfa);
        }
        return dfa;
    }

    /** True when the tree has no rule references, so its automaton does not depend on where it is used. */
    static boolean isRegular(Grammar g) {
        if (g instanceof Grammar.RuleRef || g instanceof Grammar.Rules || g instanceof Grammar.Triggered) {
            return false;
        }
        if (g instanceof Grammar.Sequence s) {
            return s.parts().stream().allMatch(RegularCache::isRegular);
        }
        if (g instanceof Grammar.Alternatives a) {
            return a.alternatives().stream().allMatch(RegularCache::isRegular);
        }
        if (g instanceof Grammar.Repeat r) {
            return isRegular(r.item());
        }
        if (g instanceof Grammar.OrderedMembers m) {
            return m.items().stream().allMatch(RegularCache::isRegular) && isRegular(m.separator())
                    && (m.extra() == null || isRegular(m.extra()));
        }
        return true;   // literals, classes, and difference/intersection (regular by construction)
    }

    record Product(Grammar left, Grammar right, boolean difference) { }
}
