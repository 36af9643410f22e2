package org.autoglm.models.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small, deterministic byte-level BPE trainer (GPT-2 / GLM-4 style) for the demo tokenizer: the 256 byte
 * symbols in GPT-2's printable byte-to-unicode alphabet, words split with the ByteLevel pre-tokenizer's regex,
 * then repeatedly merge the most frequent adjacent pair (ties: the lexicographically first pair), down to pairs
 * seen once (the Hugging Face trainer's default {@code min_frequency}), until no pair is left.
 */
final class ByteLevelBpeTrainer {

    /** The regex of the Hugging Face ByteLevel pre-tokenizer ({@code use_regex: true}). */
    static final Pattern PRE_TOKENIZER = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    /** A learned vocabulary: token strings in id order (bytes first), and the merges in rank order. */
    record Vocabulary(List<String> tokens, List<String[]> merges) {}

    private ByteLevelBpeTrainer() {}

    /** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to U+0100 and up. */
    static char[] byteAlphabet() {
        char[] map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char) b : (char) next++;
        }
        return map;
    }

    static Vocabulary train(String corpus, int numMerges) {
        char[] alphabet = byteAlphabet();
        char[] symbols = alphabet.clone();
        Arrays.sort(symbols); // id order = code point order of the byte symbols, as HF's trainer does
        List<String> tokens = new ArrayList<>();
        for (char symbol : symbols) {
            tokens.add(String.valueOf(symbol));
        }
        Set<String> known = new HashSet<>(tokens);
        Map<List<String>, Integer> words = countWords(corpus, alphabet);
        List<String[]> merges = new ArrayList<>();
        for (int m = 0; m < numMerges; m++) {
            String[] best = mostFrequentPair(words);
            if (best == null) {
                break;
            }
            merges.add(best);
            if (known.add(best[0] + best[1])) {
                tokens.add(best[0] + best[1]);
            }
            words = applyMerge(words, best);
        }
        return new Vocabulary(tokens, merges);
    }

    private static Map<List<String>, Integer> countWords(String corpus, char[] alphabet) {
        Map<List<String>, Integer> words = new LinkedHashMap<>();
        Matcher m = PRE_TOKENIZER.matcher(corpus);
        while (m.find()) {
            List<String> symbols = new ArrayList<>();
            for (byte b : m.group().getBytes(StandardCharsets.UTF_8)) {
                symbols.add(String.valueOf(alphabet[b & 0xFF]));
            }
            words.merge(symbols, 1, Integer::sum);
        }
        return words;
    }

    /** The pair occurring most often, ties broken by (left, right) order; null if no word has two symbols. */
    private static String[] mostFrequentPair(Map<List<String>, Integer> words) {
        Map<String, Integer> counts = new HashMap<>();
        for (Map.Entry<List<String>, Integer> word : words.entrySet()) {
            List<String> s = word.getKey();
            for (int i = 0; i + 1 < s.size(); i++) {
                counts.merge(s.get(i) + '\u0000' + s.get(i + 1), word.getValue(), Integer::sum);
            }
        }
        String best = null;
        int bestCount = 0;
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            int c = e.getValue();
            if (c > bestCount || (c == bestCount && e.getKey().compareTo(best) < 0)) {
                best = e.getKey();
                bestCount = c;
            }
        }
        return best == null ? null : best.split("\u0000", 2);
    }

    private static Map<List<String>, Integer> applyMerge(Map<List<String>, Integer> words, String[] pair) {
        Map<List<String>, Integer> merged = new LinkedHashMap<>();
        for (Map.Entry<List<String>, Integer> word : words.entrySet()) {
            List<String> s = word.getKey();
            List<String> out = new ArrayList<>(s.size());
            for (int i = 0; i < s.size(); i++) {
                if (i + 1 < s.size() && s.get(i).equals(pair[0]) && s.get(i + 1).equals(pair[1])) {
                    out.add(pair[0] + pair[1]);
                    i++;
                } else {
                    out.add(s.get(i));
                }
            }
            merged.merge(out, word.getValue(), Integer::sum);
        }
        return merged;
    }
}
