package org.autoglm.gossip.grid;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A killed node cannot remove its grid work directory (the build machine's /tmp held 197 of them after a day of
 * failover tests); the next node started on the host removes those whose process is gone, and only those.
 */
class TempWorkDirectoryTest {

    @TempDir
    Path parent;

    @Test
    void directoriesOfProcessesThatAreGoneAreRemovedAndNoOthers() throws Exception {
        Process exited = new ProcessBuilder("true").start();
        exited.waitFor();
        Path dead = Files.createDirectories(parent.resolve("autoglm-grid-" + exited.pid() + "-123/db/marshaller"))
                .getParent().getParent();
        Files.writeString(dead.resolve("db/marshaller/1.classname0"), "org.autoglm.Example");
        Path own = Files.createDirectory(parent.resolve("autoglm-grid-" + ProcessHandle.current().pid() + "-456"));
        Path unnamed = Files.createDirectory(parent.resolve("autoglm-grid-789")); // before pids were in the name
        Path other = Files.createDirectory(parent.resolve("autoglm-data-" + exited.pid() + "-1"));

        assertThat(TempWorkDirectory.removeLeftByDeadProcesses(parent)).isEqualTo(1);

        assertThat(dead).doesNotExist();
        assertThat(own).isDirectory();
        assertThat(unnamed).isDirectory();
        assertThat(other).isDirectory();
    }

    @Test
    void aNewDirectoryIsNamedAfterThisProcess() throws Exception {
        Path dir = TempWorkDirectory.create();
        try {
            assertThat(dir.getFileName().toString()).startsWith("autoglm-grid-" + ProcessHandle.current().pid() + "-");
            assertThat(dir.getParent()).isEqualTo(Path.of(System.getProperty("java.io.tmpdir")));
        } finally {
            assertThat(TempWorkDirectory.delete(dir)).isTrue();
        }
    }
}
