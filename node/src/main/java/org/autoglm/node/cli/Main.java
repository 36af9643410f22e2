package org.autoglm.node.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The node's command line: {@code java -jar autoglm-node.jar <command> ...}. */
@Command(
        name = "autoglm-node",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Serve GLM-family models from a fleet of identical nodes.",
        subcommands = {CommandLine.HelpCommand.class, GenerateCommand.class, InitDemoCommand.class, ServeCommand.class,
                BenchDecodeCommand.class, BenchCommand.class, BatchCommand.class, CtlCommand.class,
                WorkflowCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        // java -jar: add the Vector API module (the CPU backend's) by running the command in a child JVM
        int relaunched = VectorModuleRelaunch.runIfNeeded(args);
        if (relaunched >= 0) {
            System.exit(relaunched);
        }
        // No code may reach the network at run time: DJL would otherwise look for native libraries online
        // and report usage.
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests call {@code commandLine().execute(...)} in-process. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler(new OneLineErrors());
        cli.setParameterExceptionHandler(new OneLineErrors.Usage());
        return cli;
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.err);
    }

    /** The pom's version, written into {@code version.txt} by the build (resource filtering). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws java.io.IOException {
            try (java.io.InputStream in = Main.class.getResourceAsStream("version.txt")) {
                String v = in == null ? "(unknown: built without Maven)"
                        : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
                return new String[] {"autoglm-node " + v};
            }
        }
    }
}
