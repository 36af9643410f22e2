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
    void createAYamlTemplateRunItWithParamsAndFollowItStepByStep() throws Exception {
        String server = DemoWorkflowNode.base();
        Path yaml = tmp.resolve("greet.yaml");
        Files.writeString(yaml, """
                name: cli-greet
                description: Greets someone, then shortens the greeting.
                params:
                  type: object
                  properties:
                    who: {type: string}
                    times: {type: integer}
                  required: [who, times]
                steps:
                  - id: greet
                    kind: llm
                    prompt: "Greet {{ params.who }} {{ params.times }} times."
                    max_tokens: 4
                  - id: shorten
                    kind: llm
                    depends_on: [greet]
                    prompt: "Shorten: {{ steps.greet.output }}"
                    max_tokens: 4
                output: "{{ params.who }}: {{ steps.shorten.output }}"
                """);
        Run created = run("workflow", "create", yaml.toString(), "--server", server);
        assertThat(created.exit()).as(created.err()).isZero();
        assertThat(created.out().strip()).isEqualTo("cli-greet version 1");

        // "007" stays text for the string parameter; "3" becomes a number for the integer one
        Run started = run("workflow", "run", "cli-greet", "--param", "who=007", "--param", "times=3", "--wait",
                "--server", server);
        assertThat(started.exit()).as(started.err()).isZero();
        assertThat(started.out()).startsWith("007: ");
        assertThat(started.err()).contains("greet").contains("shorten").contains("succeeded");
        String id = started.err().lines().filter(l -> l.startsWith("run ")).findFirst().orElseThrow().split(" ")[1];

        Run status = run("workflow", "status", id, "--server", server);
        assertThat(status.exit()).as(status.err()).isZero();
        JsonNode shown = DemoWorkflowNode.JSON.readTree(status.out());
        assertThat(shown.get("status").asText()).isEqualTo("succeeded");
        assertThat(status.err()).contains("greet").contains("shorten");
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
