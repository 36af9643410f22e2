package org.autoglm.node.console;

import static org.assertj.core.api.Assertions.assertThat;

import io.javalin.Javalin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The console's frame times with a simulated feed of 100 nodes and 1,000 running requests updated ten times a second
 * (ten times the live rate), per view, in headless Chromium: the page is served by its own routes on a bare Javalin (no
 * cluster, no token: the demo feed sends nothing), so the measurement runs alone in seconds. Figures are printed and
 * written to {@code target/console/frame-times-*.txt}, not asserted (speed goals are README figures). Run it by name:
 * {@code mvn -B -ntp -pl node -am test -Dtest=ConsoleFrameTimesIT -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ConsoleFrameTimesIT {

    private static final Path OUT = Path.of("target", "console");
    /** Seconds measured per view (system property {@code autoglm.console.frameSeconds}). */
    private static final int SECONDS = Integer.getInteger("autoglm.console.frameSeconds", 6);

    private static Javalin server;
    private static ConsoleBrowser browser;

    @BeforeAll
    static void start() throws Exception {
        Files.createDirectories(OUT);
        server = Javalin.create();
        new ConsoleRoutes().install(server);
        server.start("127.0.0.1", 0);
        browser = ConsoleBrowser.open(OUT);
    }

    @AfterAll
    static void stop() {
        if (browser != null) browser.close();
        if (server != null) server.stop();
    }

    @Test
    void aHundredNodesAndAThousandRequests() throws Exception {
        String url = "http://127.0.0.1:" + server.port() + "/console?simulate=100x1000&sim_ms=100";
        StringBuilder report = new StringBuilder();
        for (String view : List.of("cluster", "requests")) {
            browser.get(url);
            browser.await(Duration.ofSeconds(20), () -> browser.all("article.node").size() == 100);
            browser.tab(view);
            ConsoleBrowser.FrameTimes frames = browser.frameTimes(Duration.ofSeconds(SECONDS));
            String line = "console frame times, " + view + " view, 100 nodes and 1,000 requests at 10 updates/s: "
                    + frames;
            System.out.println(line);
            report.append(line).append('\n');
            Files.writeString(OUT.resolve("frame-times-" + view + ".txt"), line + "\n");
            assertThat(frames.count()).as("frames measured").isGreaterThan(5);
            if (view.equals("requests")) {
                assertThat(browser.one("#requests-table").getAttribute("aria-rowcount")).isEqualTo("1001");
                assertThat(browser.all("#requests-body tr[data-request]:not([hidden])")).isNotEmpty();
            }
            browser.screenshot("simulated-" + view + ".png");
        }
        System.out.println("load average: " + Files.readString(Path.of("/proc/loadavg")).trim());
    }
}
