package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.autoglm.gossip.grid.GridConfig;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code Dockerfile.cuda}, {@code docker-compose.yml} and {@code serve}'s flags agree: every flag they pass exists and
 * parses, the ports they expose are the ones serve listens on (communication = grid port + 1000), the JWT secret is
 * mounted where {@code --jwt-secret-file} points, the image runs as a non-root user with a health check on
 * {@code /ready} by a tool it installs, and peers reach each other by name with a grid that is TLS or --insecure.
 */
class ContainerFilesTest {

    static final Path ROOT = ReferenceCases.fixturesDir().getParent();

    /** The Dockerfile's instructions (continuations joined), from the last FROM on: the image that runs. */
    static List<String> finalStage() throws Exception {
        String text = Files.readString(ROOT.resolve("Dockerfile.cuda")).replaceAll("\\\\\\n", " ");
        List<String> stage = new ArrayList<>();
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            if (l.startsWith("FROM ")) {
                stage.clear();
            }
            stage.add(l);
        }
        return stage;
    }

    static String instruction(List<String> stage, String name) {
        return stage.stream().filter(l -> l.startsWith(name + " ")).reduce((a, b) -> b)
                .map(l -> l.substring(name.length() + 1).strip()).orElse(null);
    }

    /** {@code serve ARGS} parsed by picocli exactly as the jar would (an unknown flag throws). */
    static CommandSpec serve(List<String> command) {
        assertThat(command).isNotEmpty();
        assertThat(command.get(0)).isEqualTo("serve");
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs(command.subList(1, command.size()).toArray(String[]::new));
        return cli.getCommandSpec();
    }

    static Object value(CommandSpec spec, String flag) {
        return spec.findOption(flag).getValue();
    }

    @Test
    void theImageAgreesWithServe() throws Exception {
        List<String> stage = finalStage();
        String from = instruction(stage, "FROM");
        // CUDA 12.x runtime libraries: usable with CUDA 12 drivers (12.8+) and CUDA 13 drivers, as the README says.
        assertThat(from).startsWith("nvidia/cuda:12.");
        assertThat(Files.readString(ROOT.resolve("README.md"))).contains(from.substring(0, from.indexOf('-')));

        String user = instruction(stage, "USER");
        assertThat(user).isNotNull().isNotIn("root", "0", "0:0");

        List<String> cmd = jsonArray(instruction(stage, "CMD"));
        CommandSpec spec = serve(cmd);
        int httpPort = (Integer) value(spec, "--port");
        int gridPort = (Integer) value(spec, "--grid-port");
        Set<Integer> exposed = new HashSet<>();
        for (String p : instruction(stage, "EXPOSE").split("\\s+")) {
            exposed.add(Integer.parseInt(p.replace("/tcp", "")));
        }
        assertThat(exposed).contains(httpPort, gridPort, gridPort + GridConfig.COMMUNICATION_OFFSET);
        assertThat(String.valueOf(value(spec, "--host"))).isEqualTo("0.0.0.0");
        // Serving beyond loopback needs authentication: the key is a mounted secret.
        assertThat(String.valueOf(value(spec, "--jwt-secret-file"))).startsWith("/run/secrets/");

        String health = instruction(stage, "HEALTHCHECK");
        assertThat(health).contains("curl").contains("/ready");
        Matcher port = Pattern.compile("http://(127\\.0\\.0\\.1|localhost):(\\d+)/ready").matcher(health);
        assertThat(port.find()).as(health).isTrue();
        assertThat(Integer.parseInt(port.group(2))).isEqualTo(httpPort);
        assertThat(instruction(stage, "RUN")).contains("apt-get install").contains(" curl");

        List<String> entry = jsonArray(instruction(stage, "ENTRYPOINT"));
        String jar = entry.get(entry.indexOf("-jar") + 1);
        assertThat(instruction(stage, "COPY")).endsWith(jar);

        String ignore = Files.readString(ROOT.resolve(".dockerignore"));
        assertThat(ignore.lines().map(String::strip)).contains(".git", "**/target", "*.secret");
    }

    @Test
    void theComposeClusterAgreesWithServeAndTheImage() throws Exception {
        JsonNode compose = new ObjectMapper(new YAMLFactory()).readTree(ROOT.resolve("docker-compose.yml").toFile());
        JsonNode services = compose.get("services");
        assertThat(services.size()).isEqualTo(3);
        int imagePort = (Integer) value(serve(jsonArray(instruction(finalStage(), "CMD"))), "--port");
        Set<String> names = new HashSet<>();
        services.fieldNames().forEachRemaining(names::add);
        for (String name : names) {
            JsonNode service = services.get(name);
            assertThat(service.at("/build/dockerfile").asText()).isEqualTo("Dockerfile.cuda");
            List<String> command = new ArrayList<>();
            service.get("command").forEach(a -> command.add(a.asText()));
            CommandSpec spec = serve(command);

            // The secret is mounted where --jwt-secret-file reads it, and the compose file defines it.
            String secretFile = String.valueOf(value(spec, "--jwt-secret-file"));
            List<String> secrets = new ArrayList<>();
            service.get("secrets").forEach(s -> secrets.add(s.isTextual() ? s.asText() : s.get("source").asText()));
            assertThat(secrets.stream().map(s -> "/run/secrets/" + s)).as(name).contains(secretFile);
            secrets.forEach(s -> assertThat(compose.at("/secrets/" + s + "/file").asText()).as(s).isNotEmpty());

            // The published port reaches --port, which the image's health check probes.
            int port = (Integer) value(spec, "--port");
            assertThat(port).isEqualTo(imagePort);
            assertThat(service.get("ports").get(0).asText()).endsWith(":" + port);

            // Peers are the services, by name, on their grid ports; the grid advertises a reachable address.
            int gridPort = (Integer) value(spec, "--grid-port");
            assertThat(value(spec, "--expected-nodes")).isEqualTo(services.size());
            assertThat(value(spec, "--node-name")).isEqualTo(name);
            for (String peer : String.valueOf(value(spec, "--peers")).split(",")) {
                String[] hostPort = peer.split(":");
                assertThat(names).as(peer).contains(hostPort[0]);
                assertThat(Integer.parseInt(hostPort[1])).isEqualTo(gridPort);
            }
            assertThat(value(spec, "--grid-host")).isEqualTo("auto");
            assertThat((Boolean) value(spec, "--insecure") || value(spec, "--grid-tls-keystore") != null).isTrue();
        }
    }

    /** A Dockerfile exec-form array. */
    static List<String> jsonArray(String text) throws Exception {
        List<String> out = new ArrayList<>();
        new ObjectMapper().readTree(text).forEach(n -> out.add(n.asText()));
        return out;
    }
}
