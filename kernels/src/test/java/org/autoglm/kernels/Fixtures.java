package org.autoglm.kernels;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shared reference fixtures: {@code -Dautoglm.fixtures} (set by surefire), else the repository's fixtures/. */
public final class Fixtures {

    private Fixtures() {}

    public static Path dir() {
        String prop = System.getProperty("autoglm.fixtures");
        Path p = prop != null ? Path.of(prop) : Path.of("../fixtures");
        if (!Files.isDirectory(p)) p = Path.of("fixtures");
        return p.toAbsolutePath().normalize();
    }

    public static Path model(String name) {
        return dir().resolve(name);
    }
}
