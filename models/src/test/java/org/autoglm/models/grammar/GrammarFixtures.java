package org.autoglm.models.grammar;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.autoglm.models.tokenizer.ReferenceFixtures;

/** The zipped public fixtures (MaskBench schemas, the 151k Qwen3 tokenizer), unpacked once under target/. */
final class GrammarFixtures {

    private static final Path TARGET = Path.of("target", "grammar-fixtures");
    private static TokenVocabulary vocabulary;
    private static GlmTokenizer tokenizer;

    private GrammarFixtures() { }

    static synchronized Path unpacked(String zip, String folder) {
        Path dir = TARGET.resolve(folder);
        if (Files.isDirectory(dir)) {
            return dir;
        }
        Path tmp = TARGET.resolve(folder + ".partial");
        try (InputStream in = Files.newInputStream(ReferenceFixtures.root().resolve(zip));
             ZipInputStream zin = new ZipInputStream(in)) {
            for (ZipEntry e; (e = zin.getNextEntry()) != null; ) {
                Path out = tmp.resolve(e.getName()).normalize();
                if (!out.startsWith(tmp)) {
                    throw new IOException("zip entry outside the folder: " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(out);
                } else {
                    Files.createDirectories(out.getParent());
                    Files.copy(zin, out, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Files.move(tmp.resolve(folder), dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    static Path schemas() {
        return unpacked("jsonschemabench.zip", "jsonschemabench");
    }

    static Path qwenTokenizerDir() {
        return unpacked("tokenizers/qwen3-151k.zip", "qwen3-151k");
    }

    static synchronized GlmTokenizer qwenTokenizer() {
        if (tokenizer == null) {
            tokenizer = GlmTokenizer.load(qwenTokenizerDir());
        }
        return tokenizer;
    }

    static synchronized TokenVocabulary qwenVocabulary() {
        if (vocabulary == null) {
            GlmTokenizer t = qwenTokenizer();
            vocabulary = TokenVocabulary.fromTokenizerJson(qwenTokenizerDir().resolve("tokenizer.json"),
                    t.eosTokenIds(), t.vocabSize());
        }
        return vocabulary;
    }
}
