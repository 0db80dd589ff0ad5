package io.dubhub.routes;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

import java.util.Arrays;

/**
 * The jar's entry point. {@code validate-routes ...} checks routes files and exits without starting
 * the hub (no ledger, no HTTP port, no provider keys); anything else starts the hub exactly as before.
 */
@QuarkusMain
public class HubMain {

    public static void main(String... args) {
        if (args.length > 0 && ValidateRoutesCommand.NAME.equals(args[0])) {
            System.exit(ValidateRoutesCommand.run(Arrays.asList(args).subList(1, args.length), System.out, System.err));
        }
        Quarkus.run(args);
    }
}
