package org.autoglm.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.autoglm.kernels.Fixtures;
import org.autoglm.models.backend.SequenceChunk;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --quantize} writes the quantized weights once, beside the checkpoint, and later starts map that file without
 * quantizing again; a checkpoint that changes makes it be written again; a cache directory takes it elsewhere.
 */
class QuantizedFileTest {

    @TempDir
    Path temp;

    @Test
    void theQuantizedFileIsWrittenOnceBesideTheCheckpointAndRewrittenWhenTheCheckpointChanges() throws IOException {
        Path model = copyOf("glm4-tiny");
        Path cached = model.resolve("autoglm-cpu-q8_0.weights");
        float[] first = lastLogits(model, CpuOptions.defaults().withQuantize(WeightType.Q8_0));
        assertThat(cached).exists();
        FileTime written = Files.getLastModifiedTime(cached);
        Files.setLastModifiedTime(cached, FileTime.fromMillis(written.toMillis() - 60_000)); // so a rewrite shows

        FileTime before = Files.getLastModifiedTime(cached);
        float[] second = lastLogits(model, CpuOptions.defaults().withQuantize(WeightType.Q8_0));
        assertThat(Files.getLastModifiedTime(cached)).as("mapped, not written again").isEqualTo(before);
        assertThat(second).containsExactly(first);

        Path weights = model.resolve("model.safetensors");
        Files.setLastModifiedTime(weights, FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() + 5_000));
        float[] third = lastLogits(model, CpuOptions.defaults().withQuantize(WeightType.Q8_0));
        assertThat(Files.getLastModifiedTime(cached)).as("written again").isNotEqualTo(before);
        assertThat(third).containsExactly(first);
    }

    @Test
    void aCacheDirectoryHoldsTheFileInsteadAndEachTypeHasItsOwn() throws IOException {
        Path model = copyOf("glm-tiny");
        Path cache = temp.resolve("cache");
        lastLogits(model, CpuOptions.defaults().withQuantize(WeightType.Q4_0).withCacheDir(cache));
        Path expected = QuantizedFile.location(model, WeightType.Q4_0, cache);
        assertThat(expected).exists().startsWith(cache);
        assertThat(model.resolve("autoglm-cpu-q4_0.weights")).doesNotExist();
        assertThat(QuantizedFile.location(model, WeightType.Q8_0, cache)).isNotEqualTo(expected);
    }

    private Path copyOf(String fixture) throws IOException {
        Path dir = temp.resolve(fixture);
        Files.createDirectories(dir);
        for (String f : List.of("config.json", "model.safetensors")) {
            Files.copy(Fixtures.model(fixture).resolve(f), dir.resolve(f));
        }
        return dir;
    }

    private static float[] lastLogits(Path model, CpuOptions options) {
        try (CpuBackend b = CpuBackend.load(model, options.withThreads(2))) {
            b.allocateKvCache(8, 16);
            return b.forward(List.of(new SequenceChunk(1, new int[] {5, 77, 301, 12}, 0, new int[] {3}, true)))[0];
        }
    }
}
