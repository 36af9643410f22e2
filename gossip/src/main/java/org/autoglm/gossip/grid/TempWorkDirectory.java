package org.autoglm.gossip.grid;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The work directory of a grid node that keeps nothing across restarts (Ignite's type metadata): a fresh temporary
 * directory named after the process, removed when the grid node closes. A process that is killed cannot remove its
 * own; the next grid node started on the host removes those of processes that are gone, so that crash-restarts (and
 * the failover tests' killed nodes) do not fill the temporary directory.
 */
final class TempWorkDirectory {

    private static final Logger log = LoggerFactory.getLogger(TempWorkDirectory.class);
    private static final String PREFIX = "autoglm-grid-";
    /** {@code autoglm-grid-<pid>-<random>}. */
    private static final Pattern NAME = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)-\\d+");

    private TempWorkDirectory() {}

    /** A new directory for this process, after removing those left by processes that are gone. */
    static Path create() {
        Path parent = Path.of(System.getProperty("java.io.tmpdir"));
        removeLeftByDeadProcesses(parent);
        try {
            return Files.createTempDirectory(parent, PREFIX + ProcessHandle.current().pid() + "-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the grid work directory in " + parent, e);
        }
    }

    /** Removes the directories under {@code parent} whose process is no longer alive; returns how many. */
    static int removeLeftByDeadProcesses(Path parent) {
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent, PREFIX + "*")) {
            for (Path dir : entries) {
                Matcher m = NAME.matcher(dir.getFileName().toString());
                if (m.matches() && !alive(m.group(1)) && delete(dir)) {
                    removed++;
                }
            }
        } catch (IOException | UncheckedIOException e) {
            log.debug("left-over grid work directories in {} not swept: {}", parent, e.toString());
        }
        return removed;
    }

    private static boolean alive(String pid) {
        try {
            return ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return true; // not ours to judge
        }
    }

    /** Deletes {@code dir} and everything in it; false (logged at debug) if any of it stays. */
    static boolean delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            log.debug("grid work directory {} not removed: {}", dir, e.toString());
        }
        return !Files.exists(dir);
    }
}
