package org.autoglm.node.cli;

import picocli.CommandLine.Command;

/** {@code bench}: measurements of a whole node; {@code bench serve} is the load generator. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = BenchServeCommand.class,
        description = "Benchmarks: 'bench serve' drives a running serve over HTTP.")
public final class BenchCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "name a benchmark: bench serve");
    }
}
