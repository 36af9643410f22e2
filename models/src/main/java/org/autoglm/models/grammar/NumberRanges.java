package org.autoglm.models.grammar;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Integers between bounds as a grammar over their decimal digits (how {@code minimum}/{@code maximum} are
 * enforced exactly): split by digit count, then the classic digit-by-digit range split.
 */
final class NumberRanges {

    private NumberRanges() { }

    /** Integers in [lo, hi], either bound null for none. Written without leading zeros, "-0" never. */
    static Grammar integers(BigInteger lo, BigInteger hi) {
        List<Grammar> parts = new ArrayList<>();
        // Negative part: -m with m in [max(1, -hi), -lo].
        if (lo == null || lo.signum() < 0) {
            BigInteger mLo = hi == null || hi.signum() >= 0 ? BigInteger.ONE : hi.negate();
            BigInteger mHi = lo == null ? null : lo.negate();
            if (mHi == null || mLo.compareTo(mHi) <= 0) {
                parts.add(Grammar.sequence(new Grammar.Literal("-"), naturals(mLo, mHi)));
            }
        }
        // Non-negative part: [max(0, lo), hi].
        if (hi == null || hi.signum() >= 0) {
            BigInteger nLo = lo == null || lo.signum() < 0 ? BigInteger.ZERO : lo;
            if (hi == null || nLo.compareTo(hi) <= 0) {
                parts.add(naturals(nLo, hi));
            }
        }
        return parts.size() == 1 ? parts.get(0) : new Grammar.Alternatives(parts);
    }

    /** Non-negative integers in [lo, hi] (hi null: unbounded). */
    static Grammar naturals(BigInteger lo, BigInteger hi) {
        List<Grammar> parts = new ArrayList<>();
        int loLen = lo.toString().length();
        int hiLen = hi == null ? loLen : hi.toString().length();
        for (int len = loLen; len <= hiLen; len++) {
            BigInteger first = len == 1 ? BigInteger.ZERO : BigInteger.TEN.pow(len - 1);
            BigInteger last = BigInteger.TEN.pow(len).subtract(BigInteger.ONE);
            BigInteger a = lo.max(first);
            BigInteger b = hi == null ? last : hi.min(last);
            if (a.compareTo(b) <= 0) {
                parts.add(sameLength(a.toString(), b.toString()));
            }
        }
        if (hi == null) {
            // Every number with more digits than lo.
            parts.add(Grammar.sequence(CharClasses.of('1', '9'),
                    new Grammar.Repeat(JsonValueGrammar.DIGIT, loLen, Integer.MAX_VALUE)));
        }
        return parts.size() == 1 ? parts.get(0) : new Grammar.Alternatives(parts);
    }

    /** Digit strings of equal length between a and b inclusive. */
    private static Grammar sameLength(String a, String b) {
        if (a.isEmpty()) {
            return new Grammar.Sequence(List.of());
        }
        char a0 = a.charAt(0);
        char b0 = b.charAt(0);
        String aRest = a.substring(1);
        String bRest = b.substring(1);
        if (a0 == b0) {
            return Grammar.sequence(new Grammar.Literal(String.valueOf(a0)), sameLength(aRest, bRest));
        }
        if (aRest.chars().allMatch(c -> c == '0') && bRest.chars().allMatch(c -> c == '9')) {
            return Grammar.sequence(CharClasses.of(a0, b0), digits(aRest.length()));
        }
        List<Grammar> parts = new ArrayList<>();
        parts.add(Grammar.sequence(new Grammar.Literal(String.valueOf(a0)), sameLength(aRest, "9".repeat(aRest.length()))));
        if (b0 - a0 > 1) {
            parts.add(Grammar.sequence(CharClasses.of(a0 + 1, b0 - 1), digits(aRest.length())));
        }
        parts.add(Grammar.sequence(new Grammar.Literal(String.valueOf(b0)), sameLength("0".repeat(bRest.length()), bRest)));
        return new Grammar.Alternatives(parts);
    }

    private static Grammar digits(int n) {
        return new Grammar.Repeat(JsonValueGrammar.DIGIT, n, n);
    }
}
