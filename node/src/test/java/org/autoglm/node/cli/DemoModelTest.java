package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.autoglm.models.config.GlmConfigReader;
import org.autoglm.models.weights.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo model that {@code serve} writes on first run. Several nodes started at once on one host share the
 * default directory: each must end up with a complete model (three serve processes started together used to
 * fail with "model.safetensors.partial -> model.safetensors" on all but one).
 */
class DemoModelTest {

    @TempDir
    Path tmp;

    /** Issue 15: the demo directory followed Java's user.home, not $HOME as the docs (and users) expect. */
    @Test
    void theDemoDirectoryFollowsHomeAndXdgDataHome() {
        assertThat(DemoModel.defaultDir(java.util.Map.of("HOME", "/home/someone")))
                .isEqualTo(Path.of("/home/someone/.local/share/autoglm/demo"));
        assertThat(DemoModel.defaultDir(java.util.Map.of("HOME", "/home/someone", "XDG_DATA_HOME", "/data")))
                .isEqualTo(Path.of("/data/autoglm/demo"));
        assertThat(DemoModel.defaultDir(java.util.Map.of()))
                .isEqualTo(Path.of(System.getProperty("user.home"), ".local", "share", "autoglm", "demo"));
    }

    @Test
    void nodesStartingTogetherAllGetTheSameCompleteModel() throws Exception {
        Path dir = tmp.resolve("autoglm").resolve("demo");
        int nodes = 3;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(nodes);
        try {
            List<Future<Path>> done = new ArrayList<>();
            for (int i = 0; i < nodes; i++) {
                done.add(pool.submit(() -> {
                    go.await();
                    return DemoModel.ensure(dir);
                }));
            }
            go.countDown();
            for (Future<Path> f : done) {
                assertThat(f.get()).isEqualTo(dir);
            }
        } finally {
            pool.shutdownNow();
        }
        assertLoadable(dir);
        try (Stream<Path> siblings = Files.list(dir.getParent())) {
            assertThat(siblings).as("no temporary directories left behind").containsExactly(dir);
        }
    }

    @Test
    void anIncompleteDirectoryFromAnInterruptedRunIsReplaced() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("demo"));
        Files.writeString(dir.resolve("config.json"), "{}");
        Files.writeString(dir.resolve("model.safetensors.partial"), "half");

        assertThat(DemoModel.ensure(dir)).isEqualTo(dir);

        assertLoadable(dir);
        assertThat(dir.resolve("model.safetensors.partial")).doesNotExist();
    }

    private static void assertLoadable(Path dir) throws Exception {
        assertThat(GlmConfigReader.read(dir).modelType()).isEqualTo("glm4");
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            assertThat(checkpoint).isNotNull();
        }
        assertThat(dir.resolve("tokenizer.json")).isRegularFile();
        assertThat(dir.resolve("chat_template.jinja")).isRegularFile();
    }
}
