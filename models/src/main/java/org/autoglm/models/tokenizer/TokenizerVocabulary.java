package org.autoglm.models.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import org.autoglm.models.ModelLoadException;

/**
 * Token strings and ids of a {@code tokenizer.json}, and which added tokens are special. Read with a
 * streaming parser because real GLM tokenizers are ~20 MB, mostly merges that we do not need here.
 */
public final class TokenizerVocabulary {

    private final Map<String, Integer> ids;
    private final BitSet special;
    private final BitSet added;
    private final int size;

    private TokenizerVocabulary(Map<String, Integer> ids, BitSet special, BitSet added, int size) {
        this.ids = ids;
        this.special = special;
        this.added = added;
        this.size = size;
    }

    public static TokenizerVocabulary read(Path file) {
        Map<String, Integer> ids = new HashMap<>();
        BitSet special = new BitSet();
        BitSet added = new BitSet();
        try (InputStream in = Files.newInputStream(file);
             JsonParser p = new JsonFactory().createParser(in)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, file);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if ("added_tokens".equals(field) && p.currentToken() == JsonToken.START_ARRAY) {
                    readAddedTokens(p, ids, special, added, file);
                } else if ("model".equals(field) && p.currentToken() == JsonToken.START_OBJECT) {
                    readModel(p, ids, file);
                } else {
                    p.skipChildren();
                }
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot read tokenizer " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
        if (ids.isEmpty()) {
            throw new ModelLoadException("tokenizer " + file.toAbsolutePath()
                    + " has no model.vocab and no added_tokens: not a Hugging Face tokenizer.json");
        }
        int size = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        return new TokenizerVocabulary(ids, special, added, size);
    }

    private static void readAddedTokens(JsonParser p, Map<String, Integer> ids, BitSet special, BitSet added,
            Path file)
            throws IOException {
        while (p.nextToken() == JsonToken.START_OBJECT) {
            Integer id = null;
            String content = null;
            boolean isSpecial = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                switch (name) {
                    case "id" -> id = p.getIntValue();
                    case "content" -> content = p.getText();
                    case "special" -> isSpecial = value == JsonToken.VALUE_TRUE;
                    default -> p.skipChildren();
                }
            }
            if (id == null || content == null) {
                throw new ModelLoadException("tokenizer " + file.toAbsolutePath()
                        + ": an entry of added_tokens lacks \"id\" or \"content\"");
            }
            ids.put(content, id);
            added.set(id);
            if (isSpecial) {
                special.set(id);
            }
        }
    }

    /** {@code model.vocab} is an object {token: id} (BPE, WordPiece) or a list of [token, score] (Unigram). */
    private static void readModel(JsonParser p, Map<String, Integer> ids, Path file) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            if (!"vocab".equals(name)) {
                p.skipChildren();
            } else if (value == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String token = p.currentName();
                    p.nextToken();
                    ids.putIfAbsent(token, p.getIntValue());
                }
            } else if (value == JsonToken.START_ARRAY) {
                int id = 0;
                while (p.nextToken() == JsonToken.START_ARRAY) {
                    p.nextToken();
                    ids.putIfAbsent(p.getText(), id++);
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        p.skipChildren();
                    }
                }
            } else {
                throw new ModelLoadException("tokenizer " + file.toAbsolutePath()
                        + ": model.vocab is neither an object nor a list");
            }
        }
    }

    private static void expect(JsonToken actual, JsonToken expected, Path file) {
        if (actual != expected) {
            throw new ModelLoadException("tokenizer " + file.toAbsolutePath() + " is not a JSON object");
        }
    }

    public int size() {
        return size;
    }

    /** Token string to id: the model's vocabulary (byte-level alphabet) and the added tokens (plain text). */
    public Map<String, Integer> ids() {
        return java.util.Collections.unmodifiableMap(ids);
    }

    /** An entry of {@code added_tokens}: its string is plain text, not the model's byte alphabet. */
    public boolean isAdded(int id) {
        return id >= 0 && added.get(id);
    }

    OptionalInt id(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    public boolean isSpecial(int id) {
        return id >= 0 && special.get(id);
    }
}
