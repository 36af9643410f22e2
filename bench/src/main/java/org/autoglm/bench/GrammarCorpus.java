package org.autoglm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.autoglm.models.grammar.CompiledGrammar;
import org.autoglm.models.grammar.Grammar;
import org.autoglm.models.grammar.GrammarCompiler;
import org.autoglm.models.grammar.GrammarException;
import org.autoglm.models.grammar.GrammarMatcher;
import org.autoglm.models.grammar.TokenVocabulary;
import org.autoglm.models.tokenizer.GlmTokenizer;

/**
 * MaskBench's schemas with their instances tokenized by the 151k Qwen3 tokenizer, and one measured pass over
 * them the way MaskBench measures an engine: compile each schema, then walk each valid instance token by token,
 * timing the mask computed before every token; count a schema as passing when every valid instance is accepted
 * and every invalid one rejected.
 */
final class GrammarCorpus {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Thread CPU time beside wall time: on a loaded machine wall time measures the scheduler as much as us. */
    private static final ThreadMXBean THREAD = ManagementFactory.getThreadMXBean();

    record Instance(int[] tokens, boolean valid) { }

    record Schema(String name, String json, List<Instance> instances) { }

    /** What one pass measured: per-mask and per-compile nanoseconds, and the coverage counts. */
    static final class PassResult {
        long[] maskNanos = new long[1 << 16];
        long[] maskCpuNanos = new long[1 << 16];
        int masks;
        List<Long> compileNanos = new ArrayList<>();
        List<Long> compileCpuNanos = new ArrayList<>();
        int schemas;
        int compiled;
        int passing;
        int validRejected;
        int invalidAccepted;
        /** A hash of every mask computed, in order: equal digests mean the same masks (exactness across builds). */
        long maskDigest = 17;

        void addMask(long nanos, long cpuNanos) {
            if (masks == maskNanos.length) {
                maskNanos = Arrays.copyOf(maskNanos, masks * 2);
                maskCpuNanos = Arrays.copyOf(maskCpuNanos, masks * 2);
            }
            maskCpuNanos[masks] = cpuNanos;
            maskNanos[masks++] = nanos;
        }

        static double percentileMicros(long[] values, int n, double p) {
            long[] sorted = Arrays.copyOf(values, n);
            Arrays.sort(sorted);
            return n == 0 ? 0 : sorted[Math.min(n - 1, (int) Math.floor(p * n))] / 1000.0;
        }

        String summary() {
            long[] compile = compileNanos.stream().mapToLong(Long::longValue).toArray();
            long[] compileCpu = compileCpuNanos.stream().mapToLong(Long::longValue).toArray();
            return String.format("schemas %d, compiled %d, passing %d (%.1f %%); valid rejected %d, invalid accepted"
                    + " %d; masks %d: p50 %.1f us, p99 %.1f us, max %.0f us (thread CPU time: p50 %.1f us, p99 %.1f"
                    + " us, max %.0f us); compile p50 %.2f ms, p99 %.1f ms (CPU p50 %.2f ms); mask digest %016x",
                    schemas, compiled, passing, 100.0 * passing / Math.max(1, schemas), validRejected,
                    invalidAccepted, masks, percentileMicros(maskNanos, masks, 0.5),
                    percentileMicros(maskNanos, masks, 0.99), percentileMicros(maskNanos, masks, 1.0),
                    percentileMicros(maskCpuNanos, masks, 0.5), percentileMicros(maskCpuNanos, masks, 0.99),
                    percentileMicros(maskCpuNanos, masks, 1.0),
                    percentileMicros(compile, compile.length, 0.5) / 1000,
                    percentileMicros(compile, compile.length, 0.99) / 1000,
                    percentileMicros(compileCpu, compileCpu.length, 0.5) / 1000, maskDigest);
        }
    }

    final TokenVocabulary vocabulary;
    final List<Schema> schemas;

    GrammarCorpus(Path fixtures, int stride) {
        this(fixtures, stride, 0);
    }

    /** Every {@code stride}-th schema from the {@code offset}-th on. */
    GrammarCorpus(Path fixtures, int stride, int offset) {
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "autoglm-grammar-bench");
        Path tokenizerDir = unpack(fixtures.resolve("tokenizers/qwen3-151k.zip"), work, "qwen3-151k");
        Path schemaDir = unpack(fixtures.resolve("jsonschemabench.zip"), work, "jsonschemabench");
        try (GlmTokenizer tokenizer = GlmTokenizer.load(tokenizerDir)) {
            vocabulary = TokenVocabulary.fromTokenizerJson(tokenizerDir.resolve("tokenizer.json"),
                    tokenizer.eosTokenIds(), tokenizer.vocabSize());
            List<Path> files;
            try (Stream<Path> s = Files.list(schemaDir)) {
                files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
            }
            schemas = new ArrayList<>();
            for (int i = offset; i < files.size(); i += stride) {
                JsonNode doc = JSON.readTree(files.get(i).toFile());
                List<Instance> instances = new ArrayList<>();
                for (JsonNode t : doc.path("tests")) {
                    instances.add(new Instance(tokenizer.encode(JSON.writeValueAsString(t.get("data"))),
                            t.get("valid").asBoolean()));
                }
                schemas.add(new Schema(files.get(i).getFileName().toString(), doc.get("schema").toString(),
                        instances));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One pass with a fresh compiler (cold caches, as a server meets new schemas). */
    PassResult pass() {
        GrammarCompiler compiler = new GrammarCompiler(vocabulary);
        PassResult r = new PassResult();
        long[] mask = new long[GrammarMatcher.bitmaskWords(vocabulary.size())];
        for (Schema schema : schemas) {
            r.schemas++;
            CompiledGrammar grammar;
            long c0 = THREAD.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            try {
                grammar = compiler.compile(Grammar.jsonSchema(schema.json));
            } catch (GrammarException e) {
                continue;
            }
            r.compileNanos.add(System.nanoTime() - t0);
            r.compileCpuNanos.add(THREAD.getCurrentThreadCpuTime() - c0);
            r.compiled++;
            boolean ok = true;
            for (Instance instance : schema.instances) {
                GrammarMatcher m = new GrammarMatcher(grammar);
                boolean accepted = true;
                for (int token : instance.tokens) {
                    if (instance.valid) {
                        long c = THREAD.getCurrentThreadCpuTime();
                        long s = System.nanoTime();
                        m.fillNextTokenBitmask(mask);
                        long wall = System.nanoTime() - s;
                        r.addMask(wall, THREAD.getCurrentThreadCpuTime() - c);
                        r.maskDigest = r.maskDigest * 1_000_003L + Arrays.hashCode(mask);
                    }
                    if (!m.acceptToken(token)) {
                        accepted = false;
                        break;
                    }
                }
                accepted &= m.canTerminate();
                if (instance.valid && !accepted) {
                    r.validRejected++;
                    ok = false;
                } else if (!instance.valid && accepted) {
                    r.invalidAccepted++;
                    ok = false;
                }
            }
            if (ok) {
                r.passing++;
            }
        }
        return r;
    }

    private static Path unpack(Path zip, Path work, String folder) {
        Path dir = work.resolve(folder);
        if (Files.isDirectory(dir)) {
            return dir;
        }
        Path tmp = work.resolve(folder + ".partial." + ProcessHandle.current().pid());
        try (InputStream in = Files.newInputStream(zip); ZipInputStream zin = new ZipInputStream(in)) {
            for (ZipEntry e; (e = zin.getNextEntry()) != null; ) {
                Path out = tmp.resolve(e.getName()).normalize();
                if (!out.startsWith(tmp)) {
                    throw new IOException("zip entry outside its folder: " + e.getName());
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
            throw new UncheckedIOException("cannot unpack " + zip + ": " + e.getMessage(), e);
        }
        return dir;
    }

    /**
     * Quick run without JMH: {@code GrammarCorpus FIXTURES_DIR [STRIDE] [PASSES] [warm]}. With {@code warm}, one
     * pass over other schemas (every STRIDE-th from STRIDE/2 on) comes first, so that pass 1 measures schemas the
     * process has never seen with its code already compiled by the JIT: a running server meeting a new schema.
     */
    public static void main(String[] args) {
        Path fixtures = Path.of(args.length > 0 ? args[0] : "fixtures");
        int stride = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int passes = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        if (args.length > 3 && args[3].equals("warm")) {
            if (stride < 2) {
                throw new IllegalArgumentException("warm needs a STRIDE of 2 or more (the warm-up uses other schemas)");
            }
            System.out.println("warm-up: " + new GrammarCorpus(fixtures, stride, stride / 2).pass().summary());
        }
        GrammarCorpus corpus = new GrammarCorpus(fixtures, stride);
        for (int i = 0; i < passes; i++) {
            System.out.println("pass " + (i + 1) + ": " + corpus.pass().summary());
        }
    }
}
