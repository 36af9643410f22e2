package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.autoglm.node.workflow.draft.DemoWorkflowNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code workflow create|run|status} as a user types them, against a real node (the demo model): a YAML template is
 * created, a run started with {@code --param} and followed with {@code --wait} step by step to its output; mistakes
 * are one line and exit code 1.
 */
class WorkflowCommandTest {

    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void mistakesAreOneLineAndExitCodeOne() throws Exception {
        String server = DemoWorkflowNode.base();
        assertOneLine(run("workflow", "run", "cli-x", "--param", "novalue", "--server", server), "KEY=VALUE");
        assertOneLine(run("workflow", "run", "cli-x"), "--server");
        assertOneLine(run("workflow", "create", tmp.resolve("missing.json").toString(), "--server", server),
                "is not a file");
        Path broken = tmp.resolve("broken.yaml");
        Files.writeString(broken, "name: [unclosed\n");
        assertOneLine(run("workflow", "create", broken.toString(), "--server", server), "is not valid YAML");
        Path invalid = tmp.resolve("invalid.json");
        Files.writeString(invalid, "{\"name\": \"cli-bad\", \"steps\": [{\"id\": \"a\", \"kind\": \"llm\","
                + " \"prompt\": \"x\", \"depends_on\": [\"ghost\"]}]}");
        assertOneLine(run("workflow", "create", invalid.toString(), "--server", server), "ghost");
        assertOneLine(run("workflow", "run", "no-such-workflow", "--server", server), "no-such-workflow");
        assertOneLine(run("workflow", "status", "wfrun-none", "--server", server), "404");
        assertOneLine(run("workflow", "run", "x", "--server", "http://127.0.0.1:1"), "cannot reach");
    }

    private static void assertOneLine(Run r, String mentions) {
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err().lines().count()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains(mentions);
    }
}
