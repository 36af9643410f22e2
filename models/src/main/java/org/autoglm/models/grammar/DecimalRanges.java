package org.autoglm.models.grammar;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * JSON numbers between integral bounds, exactly: a number -?I(.F)? is compared with an integer bound through its
 * integer part I and whether its fraction F is zero. Numbers are then written without an exponent (a subset of
 * the valid ones, never a wrong one). Non-integral bounds are refused.
 */
final class DecimalRanges {

    private static final Grammar ANY_FRACTION = JsonValueGrammar.optional(JsonValueGrammar.FRACTION);
    private static final Grammar ZERO_FRACTION = JsonValueGrammar.optional(Grammar.sequence(
            new Grammar.Literal("."), new Grammar.Repeat(new Grammar.Literal("0"), 1, Integer.MAX_VALUE)));
    private static final Grammar NONZERO_FRACTION = Grammar.sequence(new Grammar.Literal("."),
            new Grammar.Repeat(new Grammar.Literal("0"), 0, Integer.MAX_VALUE), CharClasses.of('1', '9'),
            new Grammar.Repeat(JsonValueGrammar.DIGIT, 0, Integer.MAX_VALUE));
    private static final Grammar MINUS = new Grammar.Literal("-");

    private DecimalRanges() { }

    static Grammar numbers(BigDecimal lo, boolean loExclusive, BigDecimal hi, boolean hiExclusive, String pointer) {
        Grammar lower = lo == null ? null : lower(integral(lo, loExclusive ? "exclusiveMinimum" : "minimum", pointer),
                loExclusive);
        Grammar upper = hi == null ? null : upper(integral(hi, hiExclusive ? "exclusiveMaximum" : "maximum", pointer),
                hiExclusive);
        if (lower == null) {
            return upper;
        }
        return upper == null ? lower : new Grammar.Intersection(lower, upper);
    }

    private static BigInteger integral(BigDecimal v, String keyword, String pointer) {
        try {
            return v.stripTrailingZeros().toBigIntegerExact();
        } catch (ArithmeticException e) {
            throw GrammarException.schema(keyword, pointer, "= " + v.toPlainString() + " on a number cannot be"
                    + " enforced exactly (only integral bounds are supported for type number)");
        }
    }

    /** Numbers >= a (or > a). */
    private static Grammar lower(BigInteger a, boolean exclusive) {
        List<Grammar> parts = new ArrayList<>();
        if (a.signum() <= 0 && !(exclusive && a.signum() == 0)) {
            parts.add(Grammar.sequence(naturals(BigInteger.ZERO, null), ANY_FRACTION));
        } else if (!exclusive) {
            parts.add(Grammar.sequence(naturals(a, null), ANY_FRACTION));
        } else {
            parts.add(Grammar.sequence(naturals(a.add(BigInteger.ONE), null), ANY_FRACTION));
            parts.add(Grammar.sequence(naturals(a, a), NONZERO_FRACTION));
        }
        if (a.signum() < 0 || (a.signum() == 0 && !exclusive)) {
            BigInteger m = a.negate();   // magnitude bound: M <= m (or M < m)
            if (m.signum() > 0) {
                parts.add(Grammar.sequence(MINUS, naturals(BigInteger.ZERO, m.subtract(BigInteger.ONE)),
                        ANY_FRACTION));
            }
            if (!exclusive) {
                parts.add(Grammar.sequence(MINUS, naturals(m, m), ZERO_FRACTION));
            }
        }
        return new Grammar.Alternatives(parts);
    }

    /** Numbers <= b (or < b): the mirror image of {@link #lower}. */
    private static Grammar upper(BigInteger b, boolean exclusive) {
        List<Grammar> parts = new ArrayList<>();
        if (b.signum() > 0 || (b.signum() == 0 && !exclusive)) {
            if (b.signum() > 0) {
                parts.add(Grammar.sequence(naturals(BigInteger.ZERO, b.subtract(BigInteger.ONE)), ANY_FRACTION));
            }
            if (!exclusive) {
                parts.add(Grammar.sequence(naturals(b, b), ZERO_FRACTION));
            }
        }
        if (b.signum() >= 0 && !(b.signum() == 0 && exclusive)) {
            parts.add(Grammar.sequence(MINUS, naturals(BigInteger.ZERO, null), ANY_FRACTION));
        } else {
            BigInteger m = b.negate();   // M >= m (or M > m)
            if (!exclusive) {
                parts.add(Grammar.sequence(MINUS, naturals(m, null), ANY_FRACTION));
            } else {
                parts.add(Grammar.sequence(MINUS, naturals(m.add(BigInteger.ONE), null), ANY_FRACTION));
                parts.add(Grammar.sequence(MINUS, naturals(m, m), NONZERO_FRACTION));
            }
        }
        return new Grammar.Alternatives(parts);
    }

    private static Grammar naturals(BigInteger lo, BigInteger hi) {
        return NumberRanges.naturals(lo, hi);
    }
}
