package io.dubhub.routes;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checks routes files the way the hub will, without a running hub, provider keys or an S3 account,
 * for ops' CI pipelines. A plain Java main (not a Quarkus command: a {@code @QuarkusMain} would stop
 * Camel Quarkus from starting Camel on its own), run against the packaged app:
 * <pre>java -cp "target/quarkus-app/app/*:target/quarkus-app/lib/main/*" io.dubhub.routes.ValidateRoutesCommand config/routes/</pre>
 * Exit code 0 when every file would be applied (warnings allowed), 1 when any has an error, 2 on
 * wrong usage. Checked offline: YAML, templatedRoute entries, template, parameters (known, required,
 * given once), provider known, route ids unique across the given files. Made warnings: a folder that
 * does not exist and cannot be created on this machine, a placeholder other than an environment
 * variable or {{hub.data-dir}}. Skipped: whether a provider is enabled (needs its keys) and whether
 * a bucket is reachable (needs the S3 account); {@code POST /api/routes/validate} on a running hub checks those.
 */
public final class ValidateRoutesCommand {

    static final String USAGE = "java -cp \"quarkus-app/app/*:quarkus-app/lib/main/*\" " + ValidateRoutesCommand.class.getName();

    private ValidateRoutesCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(List.of(args), System.out, System.err));
    }

    public static int run(List<String> args, PrintStream out, PrintStream err) {
        if (args.isEmpty() || args.contains("-h") || args.contains("--help")) {
            (args.isEmpty() ? err : out).println("usage: " + USAGE + " FILE.yaml|FOLDER...\n"
                    + "Checks dubhub routes files (config/routes/*.yaml) without starting the hub. Exit code 0: valid, "
                    + "1: errors, 2: usage.\nOffline, provider keys and buckets are not checked (POST /api/routes/validate does).");
            return args.isEmpty() ? 2 : 0;
        }
        List<Path> files = new ArrayList<>();
        for (String arg : args) {
            Path p = Path.of(arg);
            if (Files.isDirectory(p)) {
                try (Stream<Path> list = Files.list(p)) {
                    list.filter(f -> f.getFileName().toString().endsWith(".yaml")).sorted().forEach(files::add);
                } catch (IOException e) {
                    err.println(arg + ": cannot list: " + e.getMessage());
                    return 2;
                }
            } else if (Files.isRegularFile(p)) {
                files.add(p);
            } else {
                err.println(arg + ": no such file or folder");
                return 2;
            }
        }
        RouteFileValidator validator = new RouteFileValidator(ShippedRoutes.templates(), new OfflineEnvironment());
        Map<String, String> taken = new HashMap<>();
        int errors = 0;
        int warnings = 0;
        for (Path file : files) {
            String name = file.toString();
            String content;
            try {
                content = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                err.println(name + ": error: cannot read: " + e.getMessage());
                errors++;
                continue;
            }
            RouteFileCheck check = validator.validate(name, content, taken);
            check.routeIds().forEach(id -> taken.putIfAbsent(id, name));
            for (RouteProblem p : check.problems()) {
                (p.isError() ? err : out).println(p.describe(name));
            }
            errors += check.errors().size();
            warnings += check.warnings().size();
            if (check.valid()) {
                out.println(name + ": ok, routes " + check.routeIds() + " (sha256 " + check.sha256() + ")");
            }
        }
        out.println(files.size() + " file(s), " + errors + " error(s), " + warnings + " warning(s)"
                + " (offline: provider keys and buckets not checked)");
        return errors == 0 ? 0 : 1;
    }

    /** What can be known without the hub: providers and templates from the jar, placeholders from the environment. */
    static final class OfflineEnvironment implements RouteEnvironment {

        private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\??([^}:]+)(?::([^}]*))?}}");
        private final Set<String> providers = ShippedRoutes.providers();

        @Override
        public boolean live() {
            return false;
        }

        @Override
        public Set<String> providers() {
            return providers;
        }

        @Override
        public Optional<String> providerDisabled(String provider) {
            return Optional.empty();
        }

        @Override
        public String resolvePlaceholders(String value) {
            Matcher m = PLACEHOLDER.matcher(value);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String key = m.group(1).trim();
                String resolved = System.getProperty(key);
                if (resolved == null) {
                    resolved = System.getenv(key.toUpperCase().replaceAll("[^A-Z0-9]", "_"));
                }
                if (resolved == null && key.equals("hub.data-dir")) {
                    resolved = "./data";
                }
                if (resolved == null) {
                    resolved = m.group(2);
                }
                if (resolved == null) {
                    throw new IllegalArgumentException("placeholder {{" + key + "}} is not set here");
                }
                m.appendReplacement(out, Matcher.quoteReplacement(resolved));
            }
            m.appendTail(out);
            return out.toString();
        }

        @Override
        public Optional<String> bucketProblem(String bucket, String prefix) {
            return Optional.empty();
        }
    }
}
