package org.autoglm.models.sampling;

/**
 * Single-pass selections over a logits vector: argmax, maximum, k-th largest, top-n and log-sum-exp.
 * No sorting of the vocabulary and no allocation beyond the caller's small arrays. NaN logits are
 * never selected (every comparison with NaN is false).
 */
final class TokenSelection {

    private TokenSelection() {}

    /** Index of the largest logit; ties go to the lowest index, as with {@code torch.argmax}. */
    static int argmax(float[] logits) {
        int best = 0;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            if (logits[i] > bestValue) {
                bestValue = logits[i];
                best = i;
            }
        }
        return best;
    }

    static float max(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v == v ? v : Float.NEGATIVE_INFINITY);
        }
        return max;
    }

    /**
     * Fills {@code ids} / {@code values} (length n) with the n largest logits, largest first (ties: lowest
     * id first). A min-heap of size n over one pass: most elements lose against the heap's root at once.
     *
     * @return how many were found (less than n only when the vector is shorter or holds NaNs)
     */
    static int topN(float[] logits, int n, int[] ids, float[] values) {
        int size = 0;
        for (int i = 0; i < logits.length; i++) {
            float v = logits[i];
            if (size < n) {
                if (v == v) {
                    ids[size] = i;
                    values[size] = v;
                    siftUp(ids, values, size++);
                }
            } else if (v > values[0]) {
                ids[0] = i;
                values[0] = v;
                siftDown(ids, values, size);
            }
        }
        // Heap sort in place: repeatedly move the smallest to the end, giving descending order.
        for (int end = size - 1; end > 0; end--) {
            swap(ids, values, 0, end);
            siftDown(ids, values, end);
        }
        return size;
    }

    /**
     * ln(sum(exp(logits))), computed stably around the maximum. Terms below e^-40 of the largest are skipped:
     * all of them together change the result by less than 1e-12.
     */
    static double logSumExp(float[] logits, float max) {
        if (max == Float.NEGATIVE_INFINITY || max == Float.POSITIVE_INFINITY) {
            return max;
        }
        double sum = 0;
        for (float v : logits) {
            float x = v - max;
            if (x >= -TruncatedSampling.NEGLIGIBLE_LOGIT_GAP) {
                sum += TruncatedSampling.exp(x);
            }
        }
        return max + Math.log(sum);
    }

    /** Heap order: a is "smaller" (nearer the root) than b when its value is lower, or equal with a higher id. */
    private static boolean lower(int[] ids, float[] values, int a, int b) {
        return values[a] < values[b] || (values[a] == values[b] && ids[a] > ids[b]);
    }

    private static void siftUp(int[] ids, float[] values, int i) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!lower(ids, values, i, parent)) {
                return;
            }
            swap(ids, values, i, parent);
            i = parent;
        }
    }

    private static void siftDown(int[] ids, float[] values, int size) {
        int i = 0;
        while (true) {
            int left = 2 * i + 1;
            if (left >= size) {
                return;
            }
            int child = left + 1 < size && lower(ids, values, left + 1, left) ? left + 1 : left;
            if (!lower(ids, values, child, i)) {
                return;
            }
            swap(ids, values, i, child);
            i = child;
        }
    }

    private static void swap(int[] ids, float[] values, int a, int b) {
        int id = ids[a];
        ids[a] = ids[b];
        ids[b] = id;
        float v = values[a];
        values[a] = values[b];
        values[b] = v;
    }
}
