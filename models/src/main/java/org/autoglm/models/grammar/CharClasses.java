package org.autoglm.models.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Sets of Unicode code points as sorted inclusive [from, to] pairs: building, complementing, merging. */
final class CharClasses {

    static final int MAX_CODE_POINT = 0x10FFFF;
    /** Any scalar value (surrogates are not characters and have no UTF-8 form). */
    static final Grammar.CharClass ANY = of(0, 0xD7FF, 0xE000, MAX_CODE_POINT);

    private CharClasses() { }

    static Grammar.CharClass of(int... ranges) {
        return new Grammar.CharClass(normalize(ranges));
    }

    static Grammar.CharClass single(int codePoint) {
        return new Grammar.CharClass(new int[] {codePoint, codePoint});
    }

    /** Sorts and merges overlapping or adjacent pairs, and removes surrogates. */
    static int[] normalize(int[] ranges) {
        int n = ranges.length / 2;
        long[] packed = new long[n];
        for (int i = 0; i < n; i++) {
            packed[i] = ((long) ranges[2 * i] << 32) | ranges[2 * i + 1];
        }
        Arrays.sort(packed);
        List<int[]> out = new ArrayList<>();
        for (long p : packed) {
            int from = (int) (p >>> 32);
            int to = (int) p;
            if (from > to) {
                continue;
            }
            if (!out.isEmpty() && from <= out.get(out.size() - 1)[1] + 1) {
                int[] last = out.get(out.size() - 1);
                last[1] = Math.max(last[1], to);
            } else {
                out.add(new int[] {from, to});
            }
        }
        List<Integer> flat = new ArrayList<>();
        for (int[] r : out) {
            addWithoutSurrogates(flat, r[0], r[1]);
        }
        return flat.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void addWithoutSurrogates(List<Integer> flat, int from, int to) {
        if (to < 0xD800 || from > 0xDFFF) {
            flat.add(from);
            flat.add(to);
            return;
        }
        if (from < 0xD800) {
            flat.add(from);
            flat.add(0xD7FF);
        }
        if (to > 0xDFFF) {
            flat.add(0xE000);
            flat.add(to);
        }
    }

    static int[] union(int[] a, int[] b) {
        int[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return normalize(all);
    }

    static int[] complement(int[] ranges) {
        List<Integer> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < ranges.length; i += 2) {
            if (ranges[i] > next) {
                out.add(next);
                out.add(ranges[i] - 1);
            }
            next = ranges[i + 1] + 1;
        }
        if (next <= MAX_CODE_POINT) {
            out.add(next);
            out.add(MAX_CODE_POINT);
        }
        return normalize(out.stream().mapToInt(Integer::intValue).toArray());
    }

    static int[] minus(int[] a, int[] b) {
        return intersect(a, complement(b));
    }

    static int[] intersect(int[] a, int[] b) {
        List<Integer> out = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < a.length && j < b.length) {
            int from = Math.max(a[i], b[j]);
            int to = Math.min(a[i + 1], b[j + 1]);
            if (from <= to) {
                out.add(from);
                out.add(to);
            }
            if (a[i + 1] < b[j + 1]) {
                i += 2;
            } else {
                j += 2;
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static boolean contains(int[] ranges, int cp) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (cp >= ranges[i] && cp <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }

    /**
     * The UTF-8 encodings of the code points in [from, to] as sequences of byte ranges: each int[] holds
     * (lo, hi) pairs, one per byte position. The classic split by encoded length and shared leading bytes.
     */
    static void utf8Sequences(int from, int to, List<int[]> out) {
        int[] limits = {0x7F, 0x7FF, 0xFFFF, MAX_CODE_POINT};
        for (int len = 1; len <= 4; len++) {
            int lo = len == 1 ? 0 : limits[len - 2] + 1;
            int hi = limits[len - 1];
            int a = Math.max(from, lo);
            int b = Math.min(to, hi);
            if (a <= b) {
                split(a, b, len, out);
            }
        }
    }

    private static void split(int from, int to, int len, List<int[]> out) {
        if (len == 1) {
            out.add(new int[] {from, to});
            return;
        }
        // Split until every trailing 6-bit group is either full range or equal in both ends.
        for (int i = 1; i < len; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((from & ~m) != (to & ~m)) {
                if ((from & m) != 0) {
                    split(from, from | m, len, out);
                    split((from | m) + 1, to, len, out);
                    return;
                }
                if ((to & m) != m) {
                    split(from, (to & ~m) - 1, len, out);
                    split(to & ~m, to, len, out);
                    return;
                }
            }
        }
        int[] a = encode(from, len);
        int[] b = encode(to, len);
        int[] seq = new int[2 * len];
        for (int k = 0; k < len; k++) {
            seq[2 * k] = a[k];
            seq[2 * k + 1] = b[k];
        }
        out.add(seq);
    }

    private static int[] encode(int cp, int len) {
        return switch (len) {
            case 2 -> new int[] {0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)};
            case 3 -> new int[] {0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)};
            default -> new int[] {0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F),
                    0x80 | (cp & 0x3F)};
        };
    }
}
