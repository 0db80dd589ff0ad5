package io.dubhub.routes;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks one version of a config/routes file before anything of it is applied: YAML syntax, only
 * templatedRoute entries, a known template, known and required parameters, a known (and enabled)
 * provider, a folder that exists or can be created, a reachable bucket, and route ids unique in
 * the hub. Every finding carries the line it is about. The same checks run at start, on every
 * change while the hub runs, for {@code POST /api/routes/validate} and for the offline command.
 */
public class RouteFileValidator {

    /** Keys a templatedRoute may have in config/routes; anything else is most likely a typo that Camel would reject. */
    static final Set<String> TEMPLATED_ROUTE_KEYS = Set.of("routeTemplateRef", "routeId", "prefixId", "parameters");

    private final Map<String, RouteTemplate> templates;
    private final RouteEnvironment environment;

    public RouteFileValidator(Map<String, RouteTemplate> templates, RouteEnvironment environment) {
        this.templates = templates;
        this.environment = environment;
    }

    /**
     * @param takenRouteIds route id → who has it (another routes file, or the hub's own routes); ids of
     *                      this same file's applied version must not be in it, since they are replaced
     */
    public RouteFileCheck validate(String file, String yaml, Map<String, String> takenRouteIds) {
        List<RouteProblem> problems = new ArrayList<>();
        List<PlannedRoute> routes = new ArrayList<>();
        Node root;
        try {
            root = new Compose(LoadSettings.builder().setLabel(file).build()).composeString(yaml).orElse(null);
        } catch (MarkedYamlEngineException e) {
            problems.add(RouteProblem.error(line(e.getProblemMark()), "not valid YAML: " + e.getProblem()
                    + (e.getContext() == null ? "" : " (" + e.getContext() + ")")));
            return new RouteFileCheck(file, sha256(yaml), routes, problems);
        } catch (YamlEngineException e) {
            problems.add(RouteProblem.error(null, "not valid YAML: " + e.getMessage()));
            return new RouteFileCheck(file, sha256(yaml), routes, problems);
        }
        if (root == null) {
            // only comments: a file that defines no route (all of its earlier routes stop)
            return new RouteFileCheck(file, sha256(yaml), routes, problems);
        }
        if (!(root instanceof SequenceNode entries)) {
            problems.add(RouteProblem.error(line(root), "the file must be a YAML list of '- templatedRoute:' entries"));
            return new RouteFileCheck(file, sha256(yaml), routes, problems);
        }
        Map<String, Integer> idsInFile = new LinkedHashMap<>();
        for (Node entry : entries.getValue()) {
            PlannedRoute route = entry(entry, problems);
            if (route == null) {
                continue;
            }
            Integer earlier = idsInFile.putIfAbsent(route.routeId(), route.line());
            if (earlier != null) {
                problems.add(RouteProblem.error(route.line(), "routeId '" + route.routeId() + "' is already used on line "
                        + earlier + " of this file; every templatedRoute needs its own routeId"));
            } else if (takenRouteIds.containsKey(route.routeId())) {
                problems.add(RouteProblem.error(route.line(), "routeId '" + route.routeId() + "' is already used by "
                        + takenRouteIds.get(route.routeId()) + "; every route needs its own routeId"));
            }
            routes.add(route);
        }
        problems.sort(Comparator.comparing(RouteProblem::line, Comparator.nullsFirst(Comparator.naturalOrder())));
        return new RouteFileCheck(file, sha256(yaml), routes, problems);
    }

    private PlannedRoute entry(Node entry, List<RouteProblem> problems) {
        int line = line(entry);
        if (!(entry instanceof MappingNode mapping) || mapping.getValue().size() != 1
                || !"templatedRoute".equals(scalar(mapping.getValue().get(0).getKeyNode()))) {
            String found = entry instanceof MappingNode m && !m.getValue().isEmpty()
                    ? "'" + scalar(m.getValue().get(0).getKeyNode()) + "'" : "something else";
            problems.add(RouteProblem.error(line, "expected '- templatedRoute:' but found " + found
                    + "; config/routes files only instantiate templates (" + String.join(", ", templates.keySet())
                    + "), the routes themselves ship with the hub"));
            return null;
        }
        Node body = mapping.getValue().get(0).getValueNode();
        if (!(body instanceof MappingNode fields)) {
            problems.add(RouteProblem.error(line(body), "templatedRoute needs routeTemplateRef, routeId and parameters"));
            return null;
        }
        Map<String, Node> keys = keys(fields, problems);
        keys.forEach((key, value) -> {
            if (!TEMPLATED_ROUTE_KEYS.contains(key)) {
                problems.add(RouteProblem.error(line(value), "unknown key '" + key + "' in templatedRoute; allowed: "
                        + String.join(", ", new TreeSet<>(TEMPLATED_ROUTE_KEYS))));
            }
        });
        String routeId = requiredScalar(keys, "routeId", line(body), problems);
        String templateId = requiredScalar(keys, "routeTemplateRef", line(body), problems);
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, Integer> valueLines = new LinkedHashMap<>();
        Node parameters = keys.get("parameters");
        if (parameters != null && !(parameters instanceof SequenceNode)) {
            problems.add(RouteProblem.error(line(parameters), "parameters must be a list of '- name: ... value: ...'"));
        } else if (parameters != null) {
            for (Node p : ((SequenceNode) parameters).getValue()) {
                parameter(p, values, valueLines, problems);
            }
        }
        if (templateId == null) {
            return null;
        }
        RouteTemplate template = templates.get(templateId);
        if (template == null) {
            problems.add(RouteProblem.error(line(keys.get("routeTemplateRef")), "unknown template '" + templateId
                    + "'; known templates: " + String.join(", ", templates.keySet())));
            return null;
        }
        valueLines.forEach((name, at) -> {
            if (!template.parameters().containsKey(name)) {
                problems.add(RouteProblem.error(at, "unknown parameter '" + name + "' for template " + templateId
                        + "; its parameters are " + String.join(", ", template.parameters().keySet())));
            }
        });
        template.parameters().values().stream()
                .filter(p -> p.required() && !values.containsKey(p.name()))
                .forEach(p -> problems.add(RouteProblem.error(line(body), "template " + templateId + " needs parameter '"
                        + p.name() + "' (" + p.description() + ")")));
        checkValues(templateId, values, valueLines, line(body), problems);
        return routeId == null ? null : new PlannedRoute(routeId, templateId, line, Map.copyOf(values));
    }

    /** What the parameters point at: by parameter name, so any template with a provider, folder or bucket is checked. */
    private void checkValues(String templateId, Map<String, String> values, Map<String, Integer> lines, int routeLine,
                             List<RouteProblem> problems) {
        Map<String, String> resolved = new LinkedHashMap<>();
        values.forEach((name, value) -> {
            try {
                resolved.put(name, environment.resolvePlaceholders(value));
            } catch (IllegalArgumentException e) {
                problems.add(new RouteProblem(environment.live() ? RouteProblem.Severity.ERROR : RouteProblem.Severity.WARNING,
                        lines.get(name), "parameter '" + name + "': " + e.getMessage()
                        + (environment.live() ? "" : " (not checked offline)")));
            }
        });
        String provider = resolved.get("provider");
        if (provider != null) {
            if (!environment.providers().contains(provider)) {
                problems.add(RouteProblem.error(lines.get("provider"), "unknown provider '" + provider + "'; known providers: "
                        + String.join(", ", new TreeSet<>(environment.providers()))));
            } else {
                environment.providerDisabled(provider).ifPresent(missing -> problems.add(RouteProblem.warning(lines.get("provider"),
                        provider + " is disabled (set " + missing + "); its files wait until it is configured")));
            }
        }
        String folder = resolved.get("folder");
        if (folder != null) {
            folderProblem(folder).ifPresent(p -> problems.add(new RouteProblem(
                    environment.live() ? RouteProblem.Severity.ERROR : RouteProblem.Severity.WARNING, lines.get("folder"),
                    p + (environment.live() ? "" : " (on this machine; the hub's may differ)"))));
        }
        String bucket = resolved.get("bucket");
        if (bucket != null) {
            if (bucket.isBlank()) {
                problems.add(RouteProblem.error(lines.get("bucket"), "bucket is empty"));
            } else {
                environment.bucketProblem(bucket, resolved.getOrDefault("prefix", ""))
                        .ifPresent(p -> problems.add(RouteProblem.error(lines.get("bucket"), p)));
            }
        }
    }

    /** The file consumer creates a missing folder (autoCreate), so a folder that does not exist yet is fine if it can be made. */
    static Optional<String> folderProblem(String folder) {
        if (folder.isBlank()) {
            return Optional.of("folder is empty");
        }
        Path path;
        try {
            path = Path.of(folder).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            return Optional.of("folder '" + folder + "' is not a valid path: " + e.getMessage());
        }
        if (Files.isDirectory(path)) {
            return Files.isReadable(path) ? Optional.empty() : Optional.of("folder " + path + " is not readable by the hub");
        }
        if (Files.exists(path)) {
            return Optional.of(path + " exists but is not a folder");
        }
        Path parent = path.getParent();
        while (parent != null && !Files.exists(parent)) {
            parent = parent.getParent();
        }
        if (parent == null || !Files.isDirectory(parent) || !Files.isWritable(parent)) {
            return Optional.of("folder " + path + " does not exist and cannot be created ("
                    + (parent == null ? "no existing parent" : parent + " is not a writable folder") + ")");
        }
        return Optional.empty();
    }

    private void parameter(Node p, Map<String, String> values, Map<String, Integer> lines, List<RouteProblem> problems) {
        if (!(p instanceof MappingNode m)) {
            problems.add(RouteProblem.error(line(p), "a parameter is '- name: ...' with 'value: ...'"));
            return;
        }
        Map<String, Node> keys = keys(m, problems);
        keys.keySet().stream().filter(k -> !k.equals("name") && !k.equals("value")).forEach(k ->
                problems.add(RouteProblem.error(line(keys.get(k)), "unknown key '" + k + "' in a parameter; only name and value")));
        String name = requiredScalar(keys, "name", line(p), problems);
        Node valueNode = keys.get("value");
        if (name == null) {
            return;
        }
        if (valueNode == null) {
            problems.add(RouteProblem.error(line(p), "parameter '" + name + "' has no value"));
            return;
        }
        String value = scalar(valueNode);
        if (value == null) {
            problems.add(RouteProblem.error(line(valueNode), "parameter '" + name + "': the value must be a single text or number"));
            return;
        }
        if (values.containsKey(name)) {
            problems.add(RouteProblem.error(line(p), "parameter '" + name + "' is set twice (also on line " + lines.get(name) + ")"));
            return;
        }
        values.put(name, value);
        lines.put(name, line(p));
    }

    private static Map<String, Node> keys(MappingNode mapping, List<RouteProblem> problems) {
        Map<String, Node> out = new LinkedHashMap<>();
        for (NodeTuple t : mapping.getValue()) {
            String key = scalar(t.getKeyNode());
            if (key == null) {
                problems.add(RouteProblem.error(line(t.getKeyNode()), "a key must be a plain word"));
            } else if (out.put(key, t.getValueNode()) != null) {
                problems.add(RouteProblem.error(line(t.getKeyNode()), "'" + key + "' is given twice"));
            }
        }
        return out;
    }

    private static String requiredScalar(Map<String, Node> keys, String key, int line, List<RouteProblem> problems) {
        Node node = keys.get(key);
        String value = node == null ? null : scalar(node);
        if (value == null || value.isBlank()) {
            problems.add(RouteProblem.error(node == null ? line : line(node), "'" + key + "' is missing or empty"));
            return null;
        }
        return value;
    }

    static String scalar(Node node) {
        return node instanceof ScalarNode s ? s.getValue() : null;
    }

    static int line(Node node) {
        return node.getStartMark().map(m -> m.getLine() + 1).orElse(0);
    }

    private static Integer line(Optional<Mark> mark) {
        return mark.map(m -> m.getLine() + 1).orElse(null);
    }

    public static String sha256(String content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
